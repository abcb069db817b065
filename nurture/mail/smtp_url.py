"""``NURTURE_SMTP_URL``: where and how to reach the SMTP server, checked as it is read.

::

    smtp://user:pass@host:587?starttls=true&connections=4&rate=50&domain_rate=5&timeout=30
    smtps://user:pass@host:465            (implicit TLS)

Options (the query string):

* ``connections``: persistent connections, one message in flight on each (1-100, default 4);
* ``rate``: messages per second overall; ``domain_rate``: per recipient domain (default: no
  limit); ``timeout``: seconds per SMTP command, connecting included (default 30);
* ``starttls``: true (required), false (never); unset = when the server offers it;
  ``tls=true``: implicit TLS, as ``smtps://``; ``verify=false`` accepts any certificate (test
  servers only).

A URL that cannot be used is one :class:`~nurture.errors.ConfigError` naming the setting and
what is wrong, with the password masked (:func:`mask_url`): never a traceback, never the
password in a log.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from nurture.errors import ConfigError

__all__ = ["SETTING", "SmtpConfig", "mask_url"]

SETTING = "NURTURE_SMTP_URL"
SCHEMES = ("smtp", "smtps")
OPTIONS = ("connections", "rate", "domain_rate", "timeout", "starttls", "tls", "verify")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
MAX_CONNECTIONS = 100

_N = TypeVar("_N", int, float)


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``.

    Works on text that is not a valid URL too (that is when it is shown in an error): the
    user part is everything before the last ``@`` (after ``://`` when there is one), so a
    password holding ``@``, ``/`` or ``:`` is still masked whole.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}{sep}{user}{':***' if colon else ''}@{hostpart}"


def _problem(url: str, what: str) -> ConfigError:
    return ConfigError(f"{SETTING} {what}: {mask_url(url)}")


def _raw_port(netloc: str) -> str | None:
    """The port as written (text), or None when the URL names none."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        after = hostport.partition("]")[2]
        return after[1:] if after.startswith(":") else None
    return hostport.rpartition(":")[2] if ":" in hostport else None


def _number(
    url: str, values: dict[str, list[str]], name: str, cast: Callable[[str], _N], low: _N
) -> _N | None:
    if name not in values:
        return None
    text = values[name][-1]
    try:
        value = cast(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < low:
        kind = "a whole number" if cast is int else "a number"
        raise _problem(url, f"option {name}={text!r} must be {kind} of at least {low}")
    return value


def _flag(url: str, values: dict[str, list[str]], name: str) -> bool | None:
    if name not in values:
        return None
    text = values[name][-1].strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _problem(url, f"option {name}={values[name][-1]!r} must be true or false")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    validate_certs: bool = True
    timeout: float = 30.0
    connections: int = 4
    rate: float | None = None
    domain_rate: float | None = None

    @property
    def server(self) -> str:
        """``host:port`` (IPv6 hosts in brackets): how status and errors name the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse and check ``smtp://user:pass@host:port?options`` (module docstring)."""
        url = url.strip()
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 address
            raise _problem(url, f"is not a URL ({exc})") from None
        if parts.scheme not in SCHEMES:
            got = f"{parts.scheme}://" if parts.scheme else "no scheme"
            raise _problem(url, f"must start with smtp:// or smtps:// (got {got})")
        if not parts.hostname:
            raise _problem(url, "names no host (smtp://user:pass@host:587)")
        raw_port = _raw_port(parts.netloc)
        if raw_port is not None and not (raw_port.isdigit() and 0 < int(raw_port) < 65536):
            raise _problem(url, f"has port {raw_port!r}: a port is a number from 1 to 65535")
        if parts.path not in ("", "/"):
            raise _problem(url, f"has a path ({parts.path!r}): options go after '?'")
        try:
            q = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise _problem(url, "has a malformed query (option=value&option=value)") from None
        unknown = sorted(set(q) - set(OPTIONS))
        if unknown:
            raise _problem(url, f"has unknown option {unknown[0]!r} (known: {', '.join(OPTIONS)})")
        connections = _number(url, q, "connections", int, 1) or 4
        if connections > MAX_CONNECTIONS:
            raise _problem(url, f"option connections={connections} is above {MAX_CONNECTIONS}")
        use_tls = parts.scheme == "smtps" or bool(_flag(url, q, "tls"))
        start_tls = _flag(url, q, "starttls")
        if use_tls and start_tls:
            raise _problem(url, "asks for implicit TLS and STARTTLS at once: choose one")
        return cls(
            host=parts.hostname,
            port=int(raw_port) if raw_port else (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=None if use_tls else start_tls,
            validate_certs=_flag(url, q, "verify") is not False,
            timeout=_number(url, q, "timeout", float, 0.001) or 30.0,
            connections=connections,
            rate=_number(url, q, "rate", float, 0.001),
            domain_rate=_number(url, q, "domain_rate", float, 0.001),
        )
