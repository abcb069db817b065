"""Turn one text row into lead fields: pure functions, no database.

* e-mail: trimmed, lower-cased, validated with ``email-validator`` (no DNS lookups);
* phone: E.164 through ``phonenumbers`` with the default region from settings;
* names and companies: whitespace collapsed, ALL CAPS / all lower re-cased, HTML kept as
  text (HTML pages escape it when they render it; nothing is stripped silently);
* dates: ISO, or day-first (``01.02.2026`` is 1 February) when the file's locale says so;
* country (ISO-2), language (ru/en) and IANA time zone inferred from city, phone, country.

A row without any valid contact is rejected with reasons; a bad optional field only adds a
warning. Messages name the column and the offending value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import timezone as phone_tz

from nurture.intake.headers import split_full_name

RU_LIKE = {"RU", "BY", "KZ", "KG"}


@dataclass(slots=True)
class NormalizedRow:
    """The outcome of normalising one input row. Slotted: the importer rebuilds one per
    input row from the helper's chunks, and slots make that cheaper."""

    row_number: int
    fields: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # non-empty means quarantined
    met_on: date | None = None
    raw_json: str | None = None  # ``raw`` as stored (serialised where normalising runs)

    @property
    def ok(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class RowContext:
    """What normalisation needs to know about the file."""

    region: str = "RU"
    default_timezone: str = "Europe/Moscow"
    dayfirst: bool = True
    locale: str = "ru"
    country: str | None = None
    language: str | None = None


# --- e-mail --------------------------------------------------------------------------------

_SIMPLE_EMAIL = re.compile(
    r"^[a-z0-9](?:[a-z0-9_%+-]|\.(?!\.))*(?<!\.)@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"[a-z]{2,24}$"
)
_SPECIAL_TLDS = {"local", "localhost", "test", "invalid", "onion", "arpa", "internal", "lan"}


@lru_cache(maxsize=65536)
def normalize_email(value: str) -> tuple[str | None, str | None]:
    """``(email, problem)``: lower-cased valid address, or ``None`` and why not."""
    s = value.strip().lstrip("'").strip("<>").strip()
    if s.lower().startswith("mailto:"):
        s = s[7:]
    s = s.lower()
    if not s:
        return None, None
    if len(s) <= 254 and _SIMPLE_EMAIL.match(s) and s.rsplit(".", 1)[1] not in _SPECIAL_TLDS:
        local, domain = s.split("@", 1)
        # "--" in a domain label is IDNA territory (xn--, reserved "ab--"): the library decides.
        if len(local) <= 64 and "--" not in domain:
            return s, None  # the common ASCII case, same verdict as email-validator
    try:
        info = validate_email(s, check_deliverability=False)
    except EmailNotValidError:
        return None, f"{value.strip()!r} is not an e-mail address"
    return info.normalized.lower(), None


def split_emails(value: str) -> list[str]:
    """A cell may hold several addresses separated by ``;`` ``,`` or spaces."""
    s = value.strip()
    if ";" in s or "," in s:
        parts = [p for p in _EMAIL_SEPARATORS.split(s) if p]
    else:  # str.split() and the regex's \s split on the same (Unicode) whitespace
        parts = s.split()
    return parts or [value]


_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")


# --- phones --------------------------------------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s\-().\u00a0\u2010-\u2015/]")
_RU_MOBILE = re.compile(r"^(?:\+7|8|7)(9(?!30)\d{9})$")  # 930 has holes: library


@lru_cache(maxsize=65536)
def normalize_phone(value: str, region: str = "RU") -> tuple[str | None, str | None]:
    """``(e164, problem)``; ``8 (900) 123-45-67`` in region RU is ``+79001234567``."""
    s = value.strip().lstrip("'")
    if not s:
        return None, None
    compact = _PHONE_JUNK.sub("", s)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if region == "RU":
        m = _RU_MOBILE.match(compact)
        if m:  # Russian mobile 9xx (except 930) is valid throughout: a property test checks it
            return "+7" + m.group(1), None
    candidates = [compact if compact.startswith("+") else s]
    digits = re.sub(r"\D", "", compact)
    if not compact.startswith("+") and len(digits) >= 11:
        candidates.append("+" + digits)  # Excel dropped the plus of an international number
    for cand in candidates:
        try:
            num = phonenumbers.parse(cand, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), None
    return None, f"{s!r} is not a phone number"


@lru_cache(maxsize=65536)
def phone_facts(e164: str) -> tuple[str | None, str | None]:
    """``(country ISO-2, time zone when the number pins one down)``."""
    if e164.startswith("+79"):
        return "RU", None  # Russian mobile: anywhere in Russia, zone from city or default
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None, None
    country = phonenumbers.region_code_for_number(num)
    zones = phone_tz.time_zones_for_number(num)
    zone = zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None
    return country, zone


# --- text fields ---------------------------------------------------------------------------


def clean_text(value: str) -> str | None:
    """Spaces collapsed; the apostrophe an export puts before ``=``/``+``/``-``/``@`` (so a
    spreadsheet shows the cell as text) taken off again."""
    if not value:
        return None
    s = " ".join(value.replace("\u00a0", " ").split())
    if s[:1] == "'" and s[1:2] in _GUARDED:
        s = s[1:]
    return s or None


_GUARDED = ("=", "+", "-", "@")


# Companies, titles, cities, first names repeat across a list: each distinct cell once.
_clean_cell = lru_cache(maxsize=65536)(clean_text)


@lru_cache(maxsize=65536)
def clean_name(value: str) -> str | None:
    """Collapse spaces; re-case ``ИВАНОВ`` / ``ivanov`` as ``Иванов`` (mixed case kept)."""
    s = clean_text(value)
    if s is None:
        return None
    if (s.isupper() or s.islower()) and "<" not in s:
        s = "-".join(p[:1].upper() + p[1:].lower() for p in s.split("-"))
        s = " ".join(p[:1].upper() + p[1:] for p in s.split(" "))
    return s[:200]


_LEGAL = re.compile(
    r"\b(ооо|оао|зао|пао|ао|ип|нко|ано|фгуп|гуп|муп|llc|ltd|inc|gmbh|jsc|plc|corp|co|ag|sa|"
    r"limited|corporation|company)\b\.?",
    re.IGNORECASE,
)


def clean_company(value: str) -> str | None:
    s = clean_text(value)
    if s is None:
        return None
    return s[:300]  # upper-case brands and acronyms are common in company names: kept


@lru_cache(maxsize=65536)
def company_key(company: str | None) -> str:
    """Company reduced for comparison: legal forms, quotes and case removed."""
    if not company:
        return ""
    s = _LEGAL.sub(" ", company.casefold().replace("ё", "е"))
    s = re.sub(r"[\"'«»“”„.,()]+", " ", s)
    return " ".join(s.split())


@lru_cache(maxsize=65536)
def name_key(first: str | None, last: str | None, company: str | None) -> str | None:
    """Blocking key for fuzzy duplicate search: surname, first initial and the first four
    letters of the company without its legal form (``иванов|и|рома``). Only leads with a
    surname and a company get one: name + company is what a possible duplicate needs."""
    ckey = company_key(company)
    if not last or not ckey:
        return None
    initial = first.casefold().replace("ё", "е")[:1] if first else ""
    return f"{last.casefold().replace('ё', 'е')}|{initial}|{ckey[:4]}"[:120]


# --- dates ---------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_DMY = re.compile(r"^(\d{1,2})[./\-](\d{1,2})[./\-](\d{2,4})(?:[ T,].*)?$")


@lru_cache(maxsize=4096)
def parse_date(value: str, *, dayfirst: bool) -> date | None:
    """ISO dates always; ``a.b.yyyy`` is day-first or month-first as the file's locale says
    (a part above 12 settles it either way). ``None`` when it is not a date."""
    s = value.strip()
    if not s:
        return None
    m = _ISO.match(s)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.match(s)
        if m:
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if y < 100:
                y += 2000
            if a > 12:
                day, month = a, b
            elif b > 12:
                day, month = b, a
            elif dayfirst:
                day, month = a, b
            else:
                day, month = b, a
            return date(y, month, day)
    except ValueError:
        return None
    return None


# --- country, language, time zone ----------------------------------------------------------

_COUNTRIES = {
    "россия": "RU",
    "рф": "RU",
    "russia": "RU",
    "russian federation": "RU",
    "российская федерация": "RU",
    "беларусь": "BY",
    "белоруссия": "BY",
    "belarus": "BY",
    "казахстан": "KZ",
    "kazakhstan": "KZ",
    "кыргызстан": "KG",
    "киргизия": "KG",
    "kyrgyzstan": "KG",
    "узбекистан": "UZ",
    "uzbekistan": "UZ",
    "армения": "AM",
    "armenia": "AM",
    "грузия": "GE",
    "georgia": "GE",
    "азербайджан": "AZ",
    "azerbaijan": "AZ",
    "украина": "UA",
    "ukraine": "UA",
    "германия": "DE",
    "germany": "DE",
    "deutschland": "DE",
    "франция": "FR",
    "france": "FR",
    "италия": "IT",
    "italy": "IT",
    "испания": "ES",
    "spain": "ES",
    "великобритания": "GB",
    "united kingdom": "GB",
    "uk": "GB",
    "england": "GB",
    "сша": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "китай": "CN",
    "china": "CN",
    "турция": "TR",
    "turkey": "TR",
    "türkiye": "TR",
    "оаэ": "AE",
    "uae": "AE",
    "united arab emirates": "AE",
    "индия": "IN",
    "india": "IN",
    "сербия": "RS",
    "serbia": "RS",
    "польша": "PL",
    "poland": "PL",
    "нидерланды": "NL",
    "netherlands": "NL",
    "finland": "FI",
    "финляндия": "FI",
    "israel": "IL",
    "израиль": "IL",
    "canada": "CA",
    "канада": "CA",
}
_COUNTRY_ZONES = {
    "RU": "Europe/Moscow",
    "BY": "Europe/Minsk",
    "KZ": "Asia/Almaty",
    "KG": "Asia/Bishkek",
    "UZ": "Asia/Tashkent",
    "AM": "Asia/Yerevan",
    "GE": "Asia/Tbilisi",
    "AZ": "Asia/Baku",
    "UA": "Europe/Kyiv",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "GB": "Europe/London",
    "CN": "Asia/Shanghai",
    "TR": "Europe/Istanbul",
    "AE": "Asia/Dubai",
    "IN": "Asia/Kolkata",
    "RS": "Europe/Belgrade",
    "PL": "Europe/Warsaw",
    "NL": "Europe/Amsterdam",
    "FI": "Europe/Helsinki",
    "IL": "Asia/Jerusalem",
}
_CITY_ZONES = {
    "москва": "Europe/Moscow",
    "moscow": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow",
    "спб": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "st. petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "казань": "Europe/Moscow",
    "kazan": "Europe/Moscow",
    "нижний новгород": "Europe/Moscow",
    "воронеж": "Europe/Moscow",
    "ростов-на-дону": "Europe/Moscow",
    "краснодар": "Europe/Moscow",
    "krasnodar": "Europe/Moscow",
    "сочи": "Europe/Moscow",
    "ярославль": "Europe/Moscow",
    "тула": "Europe/Moscow",
    "минск": "Europe/Minsk",
    "minsk": "Europe/Minsk",
    "самара": "Europe/Samara",
    "samara": "Europe/Samara",
    "ижевск": "Europe/Samara",
    "екатеринбург": "Asia/Yekaterinburg",
    "yekaterinburg": "Asia/Yekaterinburg",
    "ekaterinburg": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg",
    "пермь": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg",
    "уфа": "Asia/Yekaterinburg",
    "ufa": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk",
    "omsk": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk",
    "novosibirsk": "Asia/Novosibirsk",
    "томск": "Asia/Tomsk",
    "барнаул": "Asia/Barnaul",
    "красноярск": "Asia/Krasnoyarsk",
    "krasnoyarsk": "Asia/Krasnoyarsk",
    "кемерово": "Asia/Novokuznetsk",
    "иркутск": "Asia/Irkutsk",
    "irkutsk": "Asia/Irkutsk",
    "якутск": "Asia/Yakutsk",
    "хабаровск": "Asia/Vladivostok",
    "владивосток": "Asia/Vladivostok",
    "vladivostok": "Asia/Vladivostok",
    "магадан": "Asia/Magadan",
    "петропавловск-камчатский": "Asia/Kamchatka",
    "калининград": "Europe/Kaliningrad",
    "kaliningrad": "Europe/Kaliningrad",
    "алматы": "Asia/Almaty",
    "almaty": "Asia/Almaty",
    "астана": "Asia/Almaty",
    "ташкент": "Asia/Tashkent",
    "tashkent": "Asia/Tashkent",
    "ереван": "Asia/Yerevan",
    "тбилиси": "Asia/Tbilisi",
    "берлин": "Europe/Berlin",
    "berlin": "Europe/Berlin",
    "london": "Europe/London",
    "лондон": "Europe/London",
    "paris": "Europe/Paris",
    "new york": "America/New_York",
    "san francisco": "America/Los_Angeles",
    "dubai": "Asia/Dubai",
    "дубай": "Asia/Dubai",
    "istanbul": "Europe/Istanbul",
    "стамбул": "Europe/Istanbul",
}
_CITY_COUNTRY = {
    "минск": "BY",
    "minsk": "BY",
    "алматы": "KZ",
    "almaty": "KZ",
    "астана": "KZ",
    "ташкент": "UZ",
    "tashkent": "UZ",
    "ереван": "AM",
    "тбилиси": "GE",
    "берлин": "DE",
    "berlin": "DE",
    "london": "GB",
    "лондон": "GB",
    "paris": "FR",
    "new york": "US",
    "san francisco": "US",
    "dubai": "AE",
    "дубай": "AE",
    "istanbul": "TR",
    "стамбул": "TR",
}
for _city in _CITY_ZONES:
    _CITY_COUNTRY.setdefault(_city, "RU")
_CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")
_ISO2 = set(phonenumbers.SUPPORTED_REGIONS)


@lru_cache(maxsize=4096)
def normalize_country(value: str) -> str | None:
    s = value.strip()
    if not s:
        return None
    if len(s) == 2 and s.upper() in _ISO2:
        return s.upper()
    return _COUNTRIES.get(" ".join(s.casefold().replace("ё", "е").split()))


@lru_cache(maxsize=1024)
def normalize_language(value: str) -> str | None:
    s = value.strip().casefold()
    if s in {"ru", "rus", "russian", "русский", "рус", "ru-ru"}:
        return "ru"
    if s in {"en", "eng", "english", "английский", "англ", "en-us", "en-gb"}:
        return "en"
    return None


def _city_key(city: str) -> str:
    return city.casefold().replace("ё", "е").removeprefix("г. ").removeprefix("г.").strip()


@lru_cache(maxsize=4096)
def city_facts(city: str | None) -> tuple[str | None, str | None]:
    """``(country, zone)`` of a well-known city, else ``(None, None)``."""
    if not city:
        return None, None
    key = _city_key(city)
    return _CITY_COUNTRY.get(key), _CITY_ZONES.get(key)


# --- the row -------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _names_of(full: str) -> tuple[str | None, str | None, str | None]:
    """``(first, last, middle)`` of a full-name cell, cleaned."""
    sf, sl, sm = split_full_name(full)
    return clean_name(sf or ""), clean_name(sl or ""), clean_name(sm or "")


def normalize_row(
    row_number: int,
    values: dict[str, str],
    raw: dict[str, str],
    ctx: RowContext,
) -> NormalizedRow:
    """Normalise one row whose cells are already keyed by field name (see headers.py)."""
    out = NormalizedRow(row_number=row_number, raw=raw)
    f = out.fields

    # Contacts.
    email_cell = values.get("email", "")
    if email_cell.strip():
        candidates = split_emails(email_cell)
        for cand in candidates:
            email, problem = normalize_email(cand)
            if email:
                f["email"] = email
                break
        else:
            out.warnings.append(f'column "email": {problem or "not an e-mail address"}')
        if "email" in f and len(candidates) > 1:
            out.warnings.append(f'column "email": several addresses, kept {f["email"]}')
    for col in ("phone", "phone2"):
        cell = values.get(col, "")
        if not cell.strip() or "phone" in f:
            continue
        phone, problem = normalize_phone(cell, ctx.region)
        if phone:
            f["phone"] = phone
        else:
            out.warnings.append(f'column "{col}": {problem}')
    if "email" not in f and "phone" not in f:
        if out.warnings:
            out.reasons.extend(out.warnings)
            out.reasons.append("no valid e-mail or phone")
        else:
            out.reasons.append("no e-mail or phone")
        out.warnings.clear()
        return out

    # Names.
    first = clean_name(values.get("first_name", ""))
    last = clean_name(values.get("last_name", ""))
    middle = clean_name(values.get("middle_name", ""))
    full = values.get("full_name", "")
    if not (first or last) and full.strip():
        first, last, full_middle = _names_of(full)
        middle = middle or full_middle
    if first:
        f["first_name"] = first
    if last:
        f["last_name"] = last
    if middle:
        f["middle_name"] = middle
    for key in ("company", "title", "interest"):
        v = _clean_cell(values.get(key, ""))  # clean_company is clean_text cut at 300
        if v:
            f[key] = v[:300] if key != "interest" else v[:200]
    city = _clean_cell(values.get("city", ""))
    if city:
        f["city"] = city[:200]

    # Country, language, time zone.
    country = None
    if values.get("country", "").strip():
        country = normalize_country(values["country"])
        if country is None:
            out.warnings.append(f'column "country": {values["country"].strip()!r} is unknown')
    phone_country, phone_zone = phone_facts(f["phone"]) if "phone" in f else (None, None)
    city_country, cz = city_facts(city)
    country = country or phone_country or city_country or ctx.country
    if country:
        f["country"] = country
    lang = None
    if values.get("language", "").strip():
        lang = normalize_language(values["language"])
        if lang is None:
            out.warnings.append(f'column "language": {values["language"].strip()!r} is unknown')
    if lang is None:
        if ctx.language:
            lang = ctx.language
        elif country:
            lang = "ru" if country in RU_LIKE else "en"
        elif _CYRILLIC.search(" ".join(str(f.get(k, "")) for k in ("first_name", "last_name"))):
            lang = "ru"
        else:
            lang = ctx.locale
    f["language"] = lang
    f["timezone"] = (
        cz
        or phone_zone
        or (_COUNTRY_ZONES.get(country) if country else None)
        or ctx.default_timezone
    )

    # Dates: the day this person was met, when the file says.
    if values.get("date", "").strip():
        met = parse_date(values["date"], dayfirst=ctx.dayfirst)
        if met is None:
            out.warnings.append(f'column "date": {values["date"].strip()!r} is not a date')
        out.met_on = met
    f["name_key"] = name_key(first, last, f.get("company"))
    return out
