"""What marks a person's data in text and JSON, and how it is taken out (pure).

:class:`Needles` are the strings that identify one person: their e-mail addresses and
phone numbers (normalised and as they were typed in the source files, and the usual
printed forms of the phone), and their full names in the orders people write them (``Ivan
Petrov``, ``Petrov Ivan``, ``Petrov Ivan Ivanovich``). Single first or last names are not
needles: ``Ivan`` would erase every other Ivan.

Rows that belong to the person are deleted by the erasure; these functions handle the rows
that belong to someone else but mention the person (a manager's digest, another client's
task note): :func:`redact` replaces a mention in a string by ``[erased]`` and a record that
describes the person (a dict with their name or address under a person key, or their lead
id under ``lead``/``lead_id``) by ``{"erased": true}``. :func:`event_skeleton` keeps of an
event-log row's details only what analytics reads (stages, amounts, counts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

__all__ = ["ERASED", "ERASED_TEXT", "Needles", "event_skeleton", "redact"]

ERASED_TEXT = "[erased]"
ERASED: dict[str, Any] = {"erased": True}
#: Shorter strings are too common to be a person's mark.
MIN_NEEDLE = 5
#: Keys under which a dict names a person: such a dict is the person's record.
PERSON_KEYS = frozenset(
    {
        "email",
        "phone",
        "full_name",
        "first_name",
        "last_name",
        "middle_name",
        "name",
        "to",
        "to_addr",
        "recipient",
        "client",
    }
)
LEAD_KEYS = ("lead", "lead_id")
#: Details of an event-log row that analytics reads and that say nothing about a person.
EVENT_KEEP = frozenset(
    {
        "stage",
        "from",
        "to",
        "amount",
        "currency",
        "playbook",
        "version",
        "kind",
        "target",
        "deadline",
        "action",
        "level",
        "late_seconds",
        "idle_seconds",
        "attempts",
        "revision",
        "role",
        "position",
        "status",
        "document_id",
        "request_id",
        "key",
        "trigger",
        "due_at",
        "retry_at",
        "campaign",
        "template",
        "task_id",
    }
)


def _names(first: str | None, last: str | None, middle: str | None) -> list[str]:
    parts = [p for p in (first, last, middle) if p]
    if len(parts) < 2 or not (first and last):
        return []
    out = [f"{first} {last}", f"{last} {first}"]
    if middle:
        out += [f"{last} {first} {middle}", f"{first} {middle} {last}", f"{first} {middle}"]
    return out


def _phone_forms(e164: str) -> list[str]:
    forms = [e164, e164.lstrip("+")]
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return forms
    for fmt in (
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    ):
        forms.append(phonenumbers.format_number(number, fmt))
    forms.append(str(number.national_number))
    return forms


@dataclass(frozen=True)
class Needles:
    """The strings that identify one person, and their lead ids."""

    terms: tuple[str, ...]
    lead_ids: frozenset[int] = frozenset()
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        *,
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        names: Iterable[tuple[str | None, str | None, str | None]] = (),
        typed: Iterable[str] = (),
        lead_ids: Iterable[int] = (),
    ) -> Needles:
        """``phones`` in E.164; ``names`` as ``(first, last, middle)``; ``typed``: contacts
        as they were typed in source files."""
        found: set[str] = set()
        found.update(e.strip().lower() for e in emails if e)
        for p in phones:
            if p:
                found.update(f.lower() for f in _phone_forms(p))
        for first, last, middle in names:
            found.update(" ".join(n.split()).lower() for n in _names(first, last, middle))
        found.update(" ".join(t.split()).lower() for t in typed if t)
        long_enough = (t for t in found if len(t) >= MIN_NEEDLE)
        terms = tuple(sorted(long_enough, key=lambda t: (-len(t), t)))
        pattern = re.compile("|".join(map(re.escape, terms)), re.IGNORECASE) if terms else None
        return cls(terms, frozenset(lead_ids), pattern)

    def __bool__(self) -> bool:
        return bool(self.terms)

    def found_in(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None

    def scrub(self, text: str) -> str:
        """``text`` with every mention replaced by ``[erased]``."""
        return self._pattern.sub(ERASED_TEXT, text) if self._pattern is not None else text

    def like_patterns(self) -> list[str]:
        """``LIKE`` patterns (escape ``\\``) that find a mention in the lower-cased text of a
        column: each term as it is and as JSON writes it (``\\u0438`` for ``и``)."""
        out: set[str] = set()
        # SQLite's lower() folds ASCII only: "Иван Петров" stays as typed, so the usual
        # capitalisations of each term are searched too
        cased = {v for t in self.terms for v in (t, t.title(), t.upper())}
        for term in sorted(cased):
            for form in (term, json.dumps(term)[1:-1]):
                escaped = form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                out.add(f"%{escaped}%")
        return sorted(out)

    def describes(self, record: dict[str, Any]) -> bool:
        """Whether a dict is the person's own record (see the module doc)."""
        for key, value in record.items():
            if key in PERSON_KEYS and isinstance(value, str) and self.found_in(value):
                return True
            if key in LEAD_KEYS:
                lead = value.get("id") if isinstance(value, dict) else value
                if isinstance(lead, int) and lead in self.lead_ids:
                    return True
        return False


def redact(value: Any, needles: Needles) -> Any:
    """``value`` (text or JSON data) without the person: see the module doc."""
    if isinstance(value, str):
        return needles.scrub(value)
    if isinstance(value, list):
        return [redact(v, needles) for v in value]
    if isinstance(value, dict):
        if needles.describes(value):
            return dict(ERASED)
        return {k: redact(v, needles) for k, v in value.items()}
    return value


def mentions(value: Any, needles: Needles) -> bool:
    """Whether ``value`` (text or JSON data) mentions the person."""
    return bool(redact(value, needles) != value)


def event_skeleton(data: dict[str, Any] | None, needles: Needles) -> dict[str, Any] | None:
    """What an erased person's event-log row keeps of its details."""
    if not data:
        return None
    # value by value: the row itself is the person's (its "to" may be their address)
    kept = {k: redact(v, needles) for k, v in data.items() if k in EVENT_KEEP}
    return {k: v for k, v in kept.items() if v != ERASED_TEXT} or None
