"""Outcome forms: the typed fields a person fills in when completing a task (plain data).

A playbook action declares its form (``yesno``, ``choice``, ``number``, ``date``, ``text``
fields); the values are validated here, stored on the task as JSON and drive the deal's
branching. Tasks without a form (cadence calls, first contacts) take free ``key=value``
pairs, kept as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nurture.errors import InputError

FieldType = Literal["yesno", "choice", "number", "date", "text"]
KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
TEXT_LIMIT = 5000
YES = frozenset({"yes", "y", "true", "да", "д"})
NO = frozenset({"no", "n", "false", "нет", "н"})

Label = str | dict[str, str]


class OutcomeField(BaseModel):
    """One field of an outcome form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: FieldType
    label: Label | None = None
    required: bool = False
    options: list[str] = Field(default_factory=list)  # choice only
    min: float | None = None  # number only
    max: float | None = None

    @model_validator(mode="after")
    def _options(self) -> OutcomeField:
        if self.type == "choice" and not self.options:
            raise ValueError("a choice field needs 'options'")
        if self.type != "choice" and self.options:
            raise ValueError(f"'options' is for choice fields, not {self.type}")
        return self


Form = Mapping[str, OutcomeField]


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["interested=yes", "budget=100000"]`` as a dict; a pair without ``=`` is an error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"{pair!r} is not key=value", field="--outcome")
        out[key] = value.strip()
    return out


def validate(form: Form | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome ``values`` checked against ``form`` and converted to JSON-ready types
    (yes/no as booleans, numbers as numbers, dates as ISO text). Without a form, keys must be
    simple names; ``yes``/``no`` (and ``да``/``нет``, ``true``/``false``) become booleans
    and other values stay text. Raises InputError naming the field."""
    if form is None:
        out: dict[str, Any] = {}
        for key, value in values.items():
            if not KEY.match(key):
                raise InputError(
                    f"outcome field {key!r}: use lower-case letters, digits and '_'",
                    field="--outcome",
                )
            if isinstance(value, bool | int | float):
                out[key] = value
            elif str(value).strip().lower() in YES | NO:
                out[key] = str(value).strip().lower() in YES
            else:
                out[key] = _text(key, value)
        return out
    unknown = sorted(set(values) - set(form))
    if unknown:
        raise InputError(
            f"unknown outcome field {unknown[0]!r} (this form has: {', '.join(form) or 'none'})",
            field="--outcome",
        )
    result: dict[str, Any] = {}
    for name, spec in form.items():
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if spec.required:
                raise InputError(f"outcome field {name!r} is required ({describe(spec)})")
            continue
        result[name] = _convert(name, spec, raw)
    return result


def describe(spec: OutcomeField) -> str:
    """What a field accepts, for error messages and ``--help``."""
    if spec.type == "yesno":
        return "yes or no"
    if spec.type == "choice":
        return "one of " + ", ".join(spec.options)
    if spec.type == "number":
        bounds = []
        if spec.min is not None:
            bounds.append(f">= {spec.min:g}")
        if spec.max is not None:
            bounds.append(f"<= {spec.max:g}")
        return "a number" + (f" ({', '.join(bounds)})" if bounds else "")
    if spec.type == "date":
        return "a date YYYY-MM-DD"
    return "text"


def summary(values: Mapping[str, Any] | None) -> str | None:
    """``interested=yes, budget=100000``: the one-line account kept in ``tasks.outcome``."""
    if not values:
        return None
    parts = []
    for key, value in values.items():
        shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)[:1000]


def _text(name: str, value: Any) -> str:
    text = str(value)
    if len(text) > TEXT_LIMIT:
        raise InputError(f"outcome field {name!r} is longer than {TEXT_LIMIT} characters")
    return text


def _convert(name: str, spec: OutcomeField, raw: Any) -> Any:
    def bad() -> InputError:
        return InputError(f"outcome field {name!r}: {raw!r} is not {describe(spec)}")

    if spec.type == "yesno":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in YES or word == "1":
            return True
        if word in NO or word == "0":
            return False
        raise bad()
    if spec.type == "choice":
        if str(raw) not in spec.options:
            raise bad()
        return str(raw)
    if spec.type == "number":
        if isinstance(raw, bool):
            raise bad()
        try:
            number = float(str(raw).replace(" ", "").replace(",", "."))
        except ValueError:
            raise bad() from None
        if number != number or number in (float("inf"), float("-inf")):
            raise bad()
        if (spec.min is not None and number < spec.min) or (
            spec.max is not None and number > spec.max
        ):
            raise bad()
        return int(number) if number.is_integer() else number
    if spec.type == "date":
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise bad() from None
    return _text(name, raw)
