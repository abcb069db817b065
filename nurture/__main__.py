"""``python -m nurture``: the same CLI as the ``nurture`` command."""

from nurture.cli import app

app(prog_name="nurture")
