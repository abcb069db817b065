"""A small, safe filter language over lead fields, compiled to SQLAlchemy expressions.

Grammar (case-insensitive keywords)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | "(" expr ")" | cond
    cond    := FIELD op VALUE
             | FIELD ["not"] "in" "(" VALUE ("," VALUE)* ")"
             | FIELD "is" ["not"] "null"
             | FIELD ["not"] "like" STRING
    op      := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    VALUE   := 'single-quoted string' | number | true | false

Example: ``country = 'RU' and city in ('Moscow', 'Kazan') and not segment = 'partner'``.
FIELD is one of :data:`FIELDS` (a whitelist of lead columns) or ``event_kind`` /
``event_key`` / ``event_name`` (the lead came from such an event). Values are always bound
parameters: nothing the user types is ever pasted into SQL, and each value must suit its
field (text, whole number, true/false, date), so the database never refuses a comparison.

Bounds (:data:`LIMITS`): an expression is at most ``chars`` characters, nests brackets and
``not`` at most ``depth`` deep, has at most ``conditions`` conditions and ``values`` values.
Within them the compiled condition stays far from Python's recursion limit, SQLite's
expression depth (1,000) and its bound-parameter limit, wherever the planner embeds it;
beyond them the expression is refused with one line saying which bound it passed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from nurture.db.leads import Event, Lead, LeadSource
from nurture.errors import InputError
from nurture.routing.yamlfile import storable

FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "id": Lead.id,
    "email": Lead.email,
    "phone": Lead.phone,
    "first_name": Lead.first_name,
    "last_name": Lead.last_name,
    "company": Lead.company,
    "title": Lead.title,
    "city": Lead.city,
    "country": Lead.country,
    "language": Lead.language,
    "timezone": Lead.timezone,
    "interest": Lead.interest,
    "segment": Lead.segment,
    "status": Lead.status,
    "owner_id": Lead.owner_id,
    "email_status": Lead.email_status,
    "do_not_contact": Lead.do_not_contact,
    "created_at": Lead.created_at,
    "last_touch_at": Lead.last_touch_at,
    "last_activity_at": Lead.last_activity_at,
}
EVENT_FIELDS = {"event_kind": Event.kind, "event_key": Event.key, "event_name": Event.name}
DATE_FIELDS = {"created_at", "last_touch_at", "last_activity_at"}
INTEGER_FIELDS = {"id", "owner_id"}
BOOLEAN_FIELDS = {"do_not_contact"}


@dataclass(frozen=True)
class Limits:
    """How large a filter expression may be."""

    chars: int = 50_000  # characters of the whole expression
    depth: int = 32  # brackets and ``not`` nested
    conditions: int = 256  # comparisons, ``in``, ``is null``, ``like``
    values: int = 1_000  # values, every item of an ``in`` list counted
    value_chars: int = 1_000  # characters of one quoted value


LIMITS = Limits()
# ids are INTEGER columns: 32-bit on PostgreSQL, which refuses to compare a larger value
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any
    pos: int


@dataclass(frozen=True)
class FilterSize:
    """How large a parsed expression is (see :data:`LIMITS`)."""

    depth: int
    conditions: int
    values: int


class FilterError(InputError):
    """The ``--where`` expression cannot be parsed, or passes a bound."""


def _number(raw: str, pos: int) -> int | float:
    if "." in raw:
        number = float(raw)
        if not math.isfinite(number):
            raise FilterError(f"number at {pos + 1} is too large")
        return number
    whole = int(raw)
    if not _INT_MIN <= whole <= _INT_MAX:
        raise FilterError(f"number at {pos + 1} is out of range (-2147483648 to 2147483647)")
    return whole


def _tokenize(text: str, limits: Limits) -> list[_Tok]:
    if len(text) > limits.chars:
        raise FilterError(f"the filter is longer than {limits.chars:,} characters")
    toks: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"unexpected character {text[pos:].strip()[:1]!r} at {pos + 1}")
        kind = m.lastgroup or ""
        raw = m.group(kind)
        start = m.start(kind)
        if kind == "str":
            value = raw[1:-1].replace("''", "'")
            if not storable(value):
                raise FilterError(
                    f"the text at {start + 1} holds a character no database stores "
                    "(NUL, or bytes that are not UTF-8)"
                )
            if len(value) > limits.value_chars:
                raise FilterError(
                    f"the text at {start + 1} is longer than {limits.value_chars:,} characters"
                )
            toks.append(_Tok("value", value, start))
        elif kind == "num":
            toks.append(_Tok("value", _number(raw, start), start))
        elif kind == "word" and raw.lower() in ("true", "false"):
            toks.append(_Tok("value", raw.lower() == "true", start))
        elif kind == "word":
            toks.append(_Tok("word", raw, start))
        else:
            toks.append(_Tok(kind, raw, start))
        pos = m.end()
    return toks


class _Parser:
    """Recursive descent, bounded: nesting is counted before each recursion, so no input
    reaches Python's recursion limit."""

    def __init__(self, text: str, limits: Limits):
        self.text = text
        self.limits = limits
        self.toks = _tokenize(text, limits)
        self.i = 0
        self.depth = 0
        self.deepest = 0
        self.conditions = 0
        self.values = 0

    def where(self, t: _Tok | None) -> str:
        return f"at {t.pos + 1}" if t is not None else "at the end"

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def kw(self, *words: str) -> bool:
        t = self.peek()
        if t is not None and t.kind == "word" and t.value.lower() in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> _Tok:
        t = self.peek()
        if t is None or t.kind != kind or (value is not None and t.value != value):
            want = value or kind
            raise FilterError(f"expected {want!r} {self.where(t)} in {_quote(self.text)}")
        self.i += 1
        return t

    def enter(self, t: _Tok | None) -> None:
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)
        if self.depth > self.limits.depth:
            raise FilterError(
                f"brackets and 'not' nest more than {self.limits.depth} deep {self.where(t)}"
            )

    def counted(self, conditions: int = 0, values: int = 0) -> None:
        self.conditions += conditions
        self.values += values
        if self.conditions > self.limits.conditions:
            raise FilterError(f"the filter has more than {self.limits.conditions} conditions")
        if self.values > self.limits.values:
            raise FilterError(
                f"the filter has more than {self.limits.values:,} values "
                "(for long lists, give the leads a segment and filter on it)"
            )

    def parse(self) -> ColumnElement[bool]:
        if not self.toks:
            raise FilterError("empty filter expression")
        expr = self.or_()
        t = self.peek()
        if t is not None:
            raise FilterError(f"unexpected {t.value!r} at {t.pos + 1} in {_quote(self.text)}")
        return expr

    def or_(self) -> ColumnElement[bool]:
        parts = [self.and_()]
        while self.kw("or"):
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def and_(self) -> ColumnElement[bool]:
        parts = [self.not_()]
        while self.kw("and"):
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def not_(self) -> ColumnElement[bool]:
        t = self.peek()
        if self.kw("not"):
            self.enter(t)
            inner = self.not_()
            self.depth -= 1
            return not_(inner)
        if t is not None and t.kind == "punct" and t.value == "(":
            self.i += 1
            self.enter(t)
            inner = self.or_()
            self.expect("punct", ")")
            self.depth -= 1
            return inner
        return self.cond()

    def value(self, field: str) -> Any:
        t = self.peek()
        if t is not None and t.kind == "word" and t.value.lower() == "null":
            raise FilterError(f"use 'is null' / 'is not null' for {field}")
        tok = self.expect("value")
        self.counted(values=1)
        return _typed(field, tok)

    def cond(self) -> ColumnElement[bool]:
        t = self.expect("word")
        self.counted(conditions=1)
        name = t.value.lower()
        if name in EVENT_FIELDS:
            return self.event_cond(name)
        if name not in FIELDS:
            known = ", ".join(sorted([*FIELDS, *EVENT_FIELDS]))
            raise FilterError(f"unknown field {t.value!r} (known: {known})")
        col = FIELDS[name]
        if self.kw("is"):
            negate = self.kw("not")
            if not self.kw("null"):
                raise FilterError(f"expected 'null' after 'is' for {name}")
            return col.is_not(None) if negate else col.is_(None)
        negate = self.kw("not")
        if self.kw("in"):
            values = self.value_list(name)
            return col.not_in(values) if negate else col.in_(values)
        if self.kw("like"):
            if not _is_text(name):
                raise FilterError(f"'like' compares text; {name} is not text")
            pattern = self.value(name)
            expr = col.ilike(pattern)
            return not_(expr) if negate else expr
        if negate:
            raise FilterError(f"expected 'in' or 'like' after 'not' for {name}")
        op = self.expect("op").value
        val = self.value(name)
        compared: ColumnElement[bool]
        if op == "=":
            compared = col == val
        elif op in ("!=", "<>"):
            compared = col != val
        elif op == "<":
            compared = col < val
        elif op == "<=":
            compared = col <= val
        elif op == ">":
            compared = col > val
        else:
            compared = col >= val
        return compared

    def value_list(self, field: str) -> list[Any]:
        self.expect("punct", "(")
        values = [self.value(field)]
        while True:
            t = self.peek()
            if t is not None and t.kind == "punct" and t.value == ",":
                self.i += 1
                values.append(self.value(field))
                continue
            break
        self.expect("punct", ")")
        return values

    def event_cond(self, name: str) -> ColumnElement[bool]:
        col = EVENT_FIELDS[name]
        negate = self.kw("not")
        match: ColumnElement[bool]
        if self.kw("in"):
            match = col.in_(self.value_list(name))
        elif negate:
            raise FilterError(f"expected 'in' after 'not' for {name}")
        else:
            op = self.expect("op").value
            if op not in ("=", "!=", "<>"):
                raise FilterError(f"{name} supports =, != and in only")
            negate = op != "="
            match = col == self.value(name)
        came = exists(
            select(LeadSource.id)
            .join(Event, Event.id == LeadSource.event_id)
            .where(LeadSource.lead_id == Lead.id, match)
        )
        return not_(came) if negate else came

    def size(self) -> FilterSize:
        return FilterSize(depth=self.deepest, conditions=self.conditions, values=self.values)


def _is_text(field: str) -> bool:
    return field not in DATE_FIELDS | INTEGER_FIELDS | BOOLEAN_FIELDS


def _typed(field: str, tok: _Tok) -> Any:
    """The value of ``tok`` as ``field`` stores it, or a FilterError saying what it needs."""
    value = tok.value
    at = f"at {tok.pos + 1}"
    if field in DATE_FIELDS:
        if not isinstance(value, str):
            raise FilterError(f"{field} needs a date like '2026-01-31' ({at})")
        try:
            parsed = datetime.fromisoformat(value)
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
            moment = parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise FilterError(f"{value!r} is not a date for {field} ({at})") from None
        if not _EARLIEST <= moment < _LATEST:
            raise FilterError(f"{value!r} is out of range for {field}: years 1900-9998 ({at})")
        return moment
    if field in INTEGER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FilterError(f"{field} needs a whole number ({at})")
        return value
    if field in BOOLEAN_FIELDS:
        if not isinstance(value, bool):
            raise FilterError(f"{field} needs true or false ({at})")
        return value
    if not isinstance(value, str):
        raise FilterError(f"{field} needs a quoted text like '{value}' ({at})")
    return value


def _quote(text: str) -> str:
    """The expression for an error message: quoted, one line, shortened when long."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


def compile_filter(text: str | None, *, limits: Limits = LIMITS) -> ColumnElement[bool]:
    """The SQLAlchemy condition for ``text`` over :class:`Lead` (``None``: all leads; an
    empty string is an error, so a blank ``--where`` never selects everyone by accident)."""
    if text is None:
        return true()
    return _Parser(text, limits).parse()


def filter_size(text: str, *, limits: Limits = LIMITS) -> FilterSize:
    """Parse ``text`` (raising FilterError like :func:`compile_filter`) and say how large
    it is."""
    parser = _Parser(text, limits)
    parser.parse()
    return parser.size()
