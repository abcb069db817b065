"""The Jinja environments of Nurture (one per templates directory, built once).

* :func:`get_environment` is THE environment for templates the project ships (web pages,
  documents, the e-mail base layouts): a :class:`~jinja2.FileSystemLoader` on
  ``settings.templates_dir``, :class:`~jinja2.StrictUndefined` (a missing variable fails
  loudly instead of printing nothing) and autoescape chosen by file extension.
* :func:`get_sandboxed_environment` has the same loader and rules but runs templates in a
  :class:`~jinja2.sandbox.SandboxedEnvironment`: campaign e-mails under ``templates/email``
  are written by marketers, so they cannot reach Python internals.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from nurture.mail.inlining import finalize as record_or_finalize

__all__ = ["SUBJECT_END", "get_environment", "get_sandboxed_environment"]

#: Printed by ``email/base.txt`` right after the subject block, so one render of the text
#: template yields both the subject and the text body.
SUBJECT_END = "\x1e"

_AUTOESCAPE = select_autoescape(
    enabled_extensions=("html", "htm", "xml"), default_for_string=True, default=False
)


def _finalize(value: Any) -> Any:
    """``None`` prints as nothing (a lead without a company), not as the word "None"."""
    return "" if value is None else value


#: Every attribute a dict has: ``lead.items`` is the method, as in any environment.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _MailSandbox(SandboxedEnvironment):
    """The sandbox, with a short path for the plain dicts the sender passes (``lead.name``).

    For a ``dict`` and a name that is not one of its attributes, the sandbox's ``getattr``
    fails with AttributeError and then reads ``obj[name]``; this reads it directly (same
    result, no exception per lookup). Everything else goes through the sandbox's checks.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@lru_cache(maxsize=8)
def _environment(templates_dir: Path, sandboxed: bool) -> Environment:
    cls = _MailSandbox if sandboxed else Environment
    env = cls(
        loader=FileSystemLoader(str(templates_dir)),
        undefined=StrictUndefined,
        autoescape=_AUTOESCAPE,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=2000,
        finalize=record_or_finalize if sandboxed else _finalize,
    )
    env.globals["SUBJECT_END"] = SUBJECT_END
    return env


def _default_dir() -> Path:
    from nurture.config import get_settings  # here: render workers never load the settings

    return Path(get_settings().templates_dir)


def get_environment(templates_dir: Path | None = None) -> Environment:
    """The project's Jinja environment for ``templates_dir`` (default: the setting)."""
    return _environment(Path(templates_dir or _default_dir()).resolve(), False)


def get_sandboxed_environment(templates_dir: Path | None = None) -> Environment:
    """The same environment, sandboxed: for templates that marketers author."""
    return _environment(Path(templates_dir or _default_dir()).resolve(), True)
