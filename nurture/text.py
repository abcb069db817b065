"""Words that depend on a number, in English and Russian.

``count(3, "row")`` -> ``"3 rows"``; ``count(21, "строка", lang="ru")`` -> ``"21 строка"``.
English forms are ``one``/``other``; Russian ones ``one`` (1, 21, 101), ``few`` (2-4, 22-24)
and ``many`` (0, 5-20, 25-30, 11-14), as in CLDR's plural rules. Words not in
:data:`FORMS` fall back to adding ``s`` (English) and must be listed to be used in Russian.
"""

from __future__ import annotations

#: Irregular English plurals and every Russian word we count: one -> (few, many).
FORMS: dict[str, tuple[str, str]] = {
    "possible duplicate": ("possible duplicates", "possible duplicates"),
    "address": ("addresses", "addresses"),
    "entry": ("entries", "entries"),
    "lead": ("leads", "leads"),
    "row": ("rows", "rows"),
    "task": ("tasks", "tasks"),
    "e-mail": ("e-mails", "e-mails"),
    "day": ("days", "days"),
    "hour": ("hours", "hours"),
    "лид": ("лида", "лидов"),
    "строка": ("строки", "строк"),
    "задача": ("задачи", "задач"),
    "письмо": ("письма", "писем"),
    "день": ("дня", "дней"),
    "час": ("часа", "часов"),
    "сделка": ("сделки", "сделок"),
    "возможный дубликат": ("возможных дубликата", "возможных дубликатов"),
}


def russian_form(n: int) -> str:
    """CLDR plural category of ``n`` in Russian: ``one``, ``few`` or ``many``."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def plural(n: int, word: str, *, lang: str = "en") -> str:
    """``word`` (its singular) in the form that goes with ``n``."""
    few, many = FORMS.get(word, (word + "s", word + "s"))
    if lang == "ru":
        return {"one": word, "few": few, "many": many}[russian_form(n)]
    return word if abs(n) == 1 else few


def count(n: int, word: str, *, lang: str = "en") -> str:
    """``"1 row"``, ``"2 rows"``, ``"5 строк"``: the number and its word, with digit grouping."""
    number = f"{n:,}".replace(",", "\u00a0" if lang == "ru" else ",")
    return f"{number} {plural(n, word, lang=lang)}"
