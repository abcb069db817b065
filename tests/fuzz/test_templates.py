"""Template payloads that try to reach Python's internals (``{{ ''.__class__.__mro__ }}``
and its many relatives) against the sandbox the sender and `nurture template check` use:
hypothesis builds expressions from dunder paths, Jinja's globals and filters, and the
context a template sees. Whatever it builds is refused (a Jinja error: SecurityError,
UndefinedError, a syntax or type error) or renders text in which no internal object shows
(no class, module, function, frame or code object)."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.mail.templating import get_sandboxed_environment

FUZZ = settings(max_examples=150, deadline=None)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

ROOTS = [
    "''", "lead", "lead.first_name", "lead.extra", "self", "range", "lipsum", "cycler",
    "joiner", "namespace", "dict", "SUBJECT_END", "loop", "config", "request", "(1).real",
    "[]", "{}", "unsubscribe_url", "varargs", "caller",
]  # fmt: skip
STEPS = [
    ".__class__", ".__mro__[1]", ".__mro__[-1]", ".__subclasses__()", ".__base__",
    ".__bases__[0]", ".__globals__", ".__init__", ".__init__.__globals__", ".__builtins__",
    ".__dict__", ".__func__", ".__self__", ".__code__", ".__closure__", ".__module__",
    ".gi_frame", ".f_globals", ".func_globals", ".mro()", ".format", ".__getattribute__",
    "['__class__']", "['__globals__']", "|attr('__class__')", "|attr('__globals__')",
    "|attr('\\x5f\\x5fclass\\x5f\\x5f')", ".__reduce_ex__(2)", "._TemplateReference__context",
    ".environment", ".eval_ctx", ".get", ".items()", ".pop('x')", ".update({})",
    ".__setitem__", ".__getitem__('os')", "['os']", ".os", ".popen('id')", ".read()",
    ".import_module", "|map(attribute='__class__')|list", "|string", "|list", "|first",
]  # fmt: skip
INTERNALS = re.compile(
    r"<(class|module|function|built-in|bound method|method|frame|code|generator|cell)\b"
    r"|uid=\d"  # `id` run by os.popen
)

expressions = st.builds(
    lambda root, steps: root + "".join(steps),
    st.sampled_from(ROOTS),
    st.lists(st.sampled_from(STEPS), min_size=1, max_size=5),
)
shapes = st.sampled_from(
    [
        "{{ %s }}",
        "{%% set x = %s %%}{{ x }}",
        "{%% for x in %s %%}{{ x }}{%% endfor %%}",
        "{%% if %s %%}yes{%% endif %%}",
        "{{ (%s)('id') }}",
        "{%% with x = %s %%}{{ x.__class__ }}{%% endwith %%}",
        "{{ '%%s'|format(%s) }}",
        "{{ %s ~ '' }}",
    ]
)


def _context() -> dict[str, object]:
    """What the sender passes: plain dicts and strings."""
    lead = {"first_name": "Ivan", "company": None, "extra": {"k": "v"}, "email": "i@x.ru"}
    return {"lead": lead, "unsubscribe_url": "https://x/u/t", "campaign": {"slug": "c"}}


@FUZZ
@given(expressions, shapes)
def test_no_template_reaches_python_internals(expression: str, shape: str) -> None:
    env = get_sandboxed_environment(TEMPLATES)
    source = shape % expression
    try:
        out = env.from_string(source).render(**_context())
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, IndexError) as exc:
        # refused: the message may name the attribute, never show an internal object
        assert not INTERNALS.search(str(exc)), (source, str(exc))
        return
    assert not INTERNALS.search(out), (source, out[:300])


def test_the_classic_payloads_are_refused() -> None:
    env = get_sandboxed_environment(TEMPLATES)
    for source in (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{{ lead|attr('__class__') }}",
    ):
        try:
            out = env.from_string(source).render(**_context())
        except jinja2.TemplateError:
            continue
        assert not INTERNALS.search(out), (source, out)
