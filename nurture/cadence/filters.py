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
    VALUE   := 'single-quoted string' | number | true | false | null

Example: ``country = 'RU' and city in ('Moscow', 'Kazan') and not segment = 'partner'``.
FIELD is one of :data:`FIELDS` (a whitelist of lead columns) or ``event_kind`` /
``event_key`` (the lead came from such an event). Values are always bound parameters:
nothing the user types is ever pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from nurture.db.leads import Event, Lead, LeadSource
from nurture.errors import InputError

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

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any
    pos: int


class FilterError(InputError):
    """The ``--where`` expression cannot be parsed."""


def _tokenize(text: str) -> list[_Tok]:
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
            toks.append(_Tok("value", raw[1:-1].replace("''", "'"), start))
        elif kind == "num":
            toks.append(_Tok("value", float(raw) if "." in raw else int(raw), start))
        elif kind == "word" and raw.lower() in ("true", "false"):
            toks.append(_Tok("value", raw.lower() == "true", start))
        elif kind == "word":
            toks.append(_Tok("word", raw, start))
        else:
            toks.append(_Tok(kind, raw, start))
        pos = m.end()
    return toks


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

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
            where = f"at {t.pos + 1}" if t else "at the end"
            want = value or kind
            raise FilterError(f"expected {want!r} {where} in {self.text!r}")
        self.i += 1
        return t

    def parse(self) -> ColumnElement[bool]:
        if not self.toks:
            raise FilterError("empty filter expression")
        expr = self.or_()
        t = self.peek()
        if t is not None:
            raise FilterError(f"unexpected {t.value!r} at {t.pos + 1} in {self.text!r}")
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
        if self.kw("not"):
            return not_(self.not_())
        t = self.peek()
        if t is not None and t.kind == "punct" and t.value == "(":
            self.i += 1
            inner = self.or_()
            self.expect("punct", ")")
            return inner
        return self.cond()

    def value(self, field: str) -> Any:
        t = self.peek()
        if t is not None and t.kind == "word" and t.value.lower() == "null":
            raise FilterError(f"use 'is null' / 'is not null' for {field}")
        tok = self.expect("value")
        if field in DATE_FIELDS:
            if not isinstance(tok.value, str):
                raise FilterError(f"{field} needs a date like '2026-01-31'")
            try:
                parsed = datetime.fromisoformat(tok.value)
            except ValueError as exc:
                raise FilterError(f"{tok.value!r} is not a date for {field}") from exc
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        return tok.value

    def cond(self) -> ColumnElement[bool]:
        t = self.expect("word")
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
            pattern = self.value(name)
            expr = col.ilike(str(pattern))
            return not_(expr) if negate else expr
        if negate:
            raise FilterError(f"expected 'in' or 'like' after 'not' for {name}")
        op = self.expect("op").value
        val = self.value(name)
        ops: dict[str, Any] = {
            "=": col.__eq__,
            "!=": col.__ne__,
            "<>": col.__ne__,
            "<": col.__lt__,
            "<=": col.__le__,
            ">": col.__gt__,
            ">=": col.__ge__,
        }
        compared: ColumnElement[bool] = ops[op](val)
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
        col: Any = EVENT_FIELDS[name]
        negate = self.kw("not")
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


def compile_filter(text: str | None) -> ColumnElement[bool]:
    """The SQLAlchemy condition for ``text`` over :class:`Lead` (``None``: all leads; an
    empty string is an error, so a blank ``--where`` never selects everyone by accident)."""
    if text is None:
        return true()
    return _Parser(text).parse()
