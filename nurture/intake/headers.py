"""Which column is which: Russian and English header names, ``--mapping`` YAML, full names.

Pure functions on strings; no I/O except :func:`load_mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nurture.errors import ConfigError

FIELDS = (
    "email",
    "phone",
    "phone2",
    "full_name",
    "first_name",
    "last_name",
    "middle_name",
    "company",
    "title",
    "city",
    "country",
    "language",
    "date",
    "interest",
    "notes",
)
IGNORE = "ignore"

_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "mail",
        "email address",
        "e-mail address",
        "emailaddress",
        "your email",
        "work email",
        "business email",
        "почта",
        "электронная почта",
        "эл. почта",
        "эл.почта",
        "адрес электронной почты",
        "e-mail адрес",
        "емейл",
        "имейл",
    ),
    "phone": (
        "phone",
        "phone number",
        "telephone",
        "tel",
        "tel.",
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "contact phone",
        "your phone",
        "телефон",
        "тел",
        "тел.",
        "мобильный",
        "мобильный телефон",
        "моб. телефон",
        "номер телефона",
        "контактный телефон",
        "сотовый",
    ),
    "phone2": (
        "work phone",
        "office phone",
        "phone 2",
        "second phone",
        "рабочий телефон",
        "телефон 2",
        "доп. телефон",
        "дополнительный телефон",
    ),
    "full_name": (
        "фио",
        "ф.и.о.",
        "ф. и. о.",
        "name",
        "full name",
        "fullname",
        "your name",
        "contact",
        "contact name",
        "participant",
        "attendee",
        "attendee name",
        "visitor",
        "участник",
        "посетитель",
        "фамилия имя отчество",
        "фамилия, имя, отчество",
        "имя и фамилия",
        "фамилия и имя",
        "контактное лицо",
    ),
    "first_name": ("first name", "firstname", "first", "given name", "forename", "имя"),
    "last_name": ("last name", "lastname", "surname", "family name", "last", "фамилия"),
    "middle_name": ("middle name", "middlename", "patronymic", "отчество"),
    "company": (
        "company",
        "company name",
        "organization",
        "organisation",
        "org",
        "employer",
        "account",
        "account name",
        "компания",
        "организация",
        "название компании",
        "название организации",
        "место работы",
        "фирма",
        "предприятие",
    ),
    "title": (
        "title",
        "job title",
        "jobtitle",
        "position",
        "role",
        "job",
        "job role",
        "должность",
        "позиция",
    ),
    "city": ("city", "town", "location", "город", "населенный пункт", "населённый пункт"),
    "country": ("country", "страна", "country/region"),
    "language": ("language", "lang", "preferred language", "язык"),
    "date": (
        "date",
        "registration date",
        "registered",
        "registered at",
        "signup date",
        "sign-up date",
        "timestamp",
        "submitted at",
        "scan date",
        "scanned at",
        "дата",
        "дата регистрации",
        "дата и время",
        "дата сканирования",
        "дата заявки",
    ),
    "interest": (
        "interest",
        "interests",
        "product",
        "interested in",
        "product interest",
        "интерес",
        "продукт",
        "интересующий продукт",
        "интересует",
    ),
    "notes": ("comment", "comments", "notes", "note", "комментарий", "примечание", "заметки"),
}


def header_key(name: str) -> str:
    """Header text reduced for matching: case, ``ё``, punctuation and spacing ignored."""
    s = name.strip().lstrip("\ufeff").casefold().replace("ё", "е")
    s = re.sub(r"[\s_\-./,:*()\"'«»]+", "", s)
    return s


_LOOKUP: dict[str, str] = {}
for _field, _names in _ALIASES.items():
    for _n in _names:
        _LOOKUP.setdefault(header_key(_n), _field)


def guess_field(name: str) -> str | None:
    """The lead field a header names, or ``None`` when unknown."""
    return _LOOKUP.get(header_key(name))


@dataclass
class ColumnMapping:
    """An optional ``--mapping`` file: explicit column names and date conventions.

    ```yaml
    columns:            # header in the file -> field (or "ignore")
      "Контакт": full_name
      "Почта клиента": email
    dayfirst: true      # 01.02.2026 is 1 February (default: from the file's locale)
    country: RU         # when the file has no country column
    language: ru
    ```
    """

    columns: dict[str, str] = field(default_factory=dict)
    dayfirst: bool | None = None
    country: str | None = None
    language: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "columns": self.columns,
            "dayfirst": self.dayfirst,
            "country": self.country,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """The mapping :meth:`as_dict` stored (with an import batch)."""
        return cls(
            columns=dict(data.get("columns") or {}),
            dayfirst=data.get("dayfirst"),
            country=data.get("country"),
            language=data.get("language"),
        )


def load_mapping(path: Path) -> ColumnMapping:
    """Read a ``--mapping`` YAML file; problems are :class:`ConfigError` naming the file."""
    name = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"cannot read mapping ({exc.strerror})", file=name) from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError(
            "not valid YAML", file=name, line=None if line is None else line + 1
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with a 'columns:' section", file=name)
    unknown = set(data) - {"columns", "dayfirst", "country", "language"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)}", file=name)
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise ConfigError("'columns' must map header names to fields", file=name)
    out: dict[str, str] = {}
    for header, target in columns.items():
        target_s = str(target).strip()
        if target_s not in FIELDS and target_s != IGNORE:
            raise ConfigError(
                f"column {header!r}: unknown field {target_s!r} "
                f"(one of {', '.join(FIELDS)}, ignore)",
                file=name,
            )
        out[str(header)] = target_s
    dayfirst = data.get("dayfirst")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise ConfigError("'dayfirst' must be true or false", file=name)
    country = data.get("country")
    return ColumnMapping(
        columns=out,
        dayfirst=dayfirst,
        country=str(country).upper() if country else None,
        language=str(data["language"]) if data.get("language") else None,
    )


def resolve_columns(header: list[str], mapping: ColumnMapping | None = None) -> dict[str, int]:
    """Field -> column index for ``header``; the mapping wins, then the first alias match."""
    explicit = {header_key(k): v for k, v in (mapping.columns if mapping else {}).items()}
    result: dict[str, int] = {}
    for i, name in enumerate(header):
        key = header_key(name)
        target = explicit.get(key) if key in explicit else guess_field(name)
        if target is None or target == IGNORE:
            continue
        if target in result:
            if target == "phone" and "phone2" not in result:
                result["phone2"] = i
            continue
        result[target] = i
    return result


def recogniser(mapping: ColumnMapping | None = None) -> _Recogniser:
    return _Recogniser(mapping)


class _Recogniser:
    """Scores a candidate header row: how many cells name a known field."""

    def __init__(self, mapping: ColumnMapping | None) -> None:
        self.explicit = {header_key(k) for k in (mapping.columns if mapping else {})}

    def __call__(self, cells: list[str]) -> int:
        fields = set()
        for c in cells:
            if not c or len(c) > 80:
                continue
            key = header_key(c)
            if key in self.explicit:
                fields.add("explicit:" + key)
            elif key in _LOOKUP:
                fields.add(_LOOKUP[key])
        contact = fields & {"email", "phone", "full_name", "first_name", "last_name"}
        explicit = any(f.startswith("explicit:") for f in fields)
        if not contact and not explicit:
            return 0
        return len(fields)


def merge_header_rows(
    upper: list[str], lower: list[str], recognise: Callable[[list[str]], int]
) -> list[str]:
    """A two-row header read as one, when that names more fields than ``lower`` alone.

    Exports often group columns under a merged cell: "Телефон" over "Рабочий" and
    "Мобильный", or "E-mail" merged down over an empty cell below. A merged cell's text
    sits in its first column only, so a group name carries to the right until the next one.
    A lower cell that names a field wins; an empty or unknown one takes its group's name
    when that names a field. Anything else (a title row above the header) changes nothing.
    """
    width = max(len(upper), len(lower))
    merged: list[str] = []
    group = ""
    for j in range(width):
        top = upper[j].strip() if j < len(upper) else ""
        cell = lower[j].strip() if j < len(lower) else ""
        group = top or group
        if not cell:
            merged.append(top)  # merged down: the name is in the row above
        elif guess_field(cell) is None and group and guess_field(group) is not None:
            merged.append(group)
        else:
            merged.append(cell)
    named = sum(guess_field(c) is not None for c in merged if c)
    lower_named = sum(guess_field(c) is not None for c in lower if c)
    better = recognise(merged) >= recognise(lower) and named > lower_named
    return merged if better else lower


def has_contact_columns(columns: Mapping[str, int]) -> bool:
    return "email" in columns or "phone" in columns or "phone2" in columns


# --- full names ------------------------------------------------------------------------

_CYR = re.compile(r"[а-яА-ЯёЁ]")
_PATRONYMIC = re.compile(r"(вич|вна|ична|инична|оглы|кызы)$", re.IGNORECASE)
_SURNAME_END = re.compile(
    r"(ов|ев|ёв|ин|ын|ова|ева|ёва|ина|ына|ский|ская|цкий|цкая|ко|юк|ук|ян|дзе|швили)$",
    re.IGNORECASE,
)


def split_full_name(full: str) -> tuple[str | None, str | None, str | None]:
    """``(first, last, middle)`` from a full name in Russian or English order.

    "Иванов Иван Иванович" -> Иван / Иванов / Иванович; "Ivan Petrov" -> Ivan / Petrov;
    "Petrov, Ivan" -> Ivan / Petrov; "Иван Петров" -> Иван / Петров (surname ending).
    """
    s = " ".join(full.replace("\u00a0", " ").split())
    if not s:
        return None, None, None
    if "," in s:
        last, _, rest = s.partition(",")
        parts = rest.split()
        return (parts[0] if parts else None), last.strip() or None, (" ".join(parts[1:]) or None)
    parts = s.split(" ")
    if len(parts) == 1:
        return parts[0], None, None
    if _CYR.search(s):
        if len(parts) >= 3 and _PATRONYMIC.search(parts[2]):
            return parts[1], parts[0], " ".join(parts[2:])
        if len(parts) >= 3 and _PATRONYMIC.search(parts[1]):
            return parts[0], parts[2], parts[1]  # Иван Иванович Иванов
        if len(parts) == 2:
            if _SURNAME_END.search(parts[1]) and not _SURNAME_END.search(parts[0]):
                return parts[0], parts[1], None
            return parts[1], parts[0], None
        return parts[1], parts[0], " ".join(parts[2:])
    if len(parts) == 2:
        return parts[0], parts[1], None
    return parts[0], parts[-1], " ".join(parts[1:-1])
