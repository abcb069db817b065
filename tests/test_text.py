"""Plural forms in both languages."""

from __future__ import annotations

import pytest

from nurture.text import count, plural, russian_form


@pytest.mark.parametrize(
    ("n", "form"),
    [
        (0, "many"),
        (1, "one"),
        (2, "few"),
        (4, "few"),
        (5, "many"),
        (11, "many"),
        (12, "many"),
        (14, "many"),
        (21, "one"),
        (22, "few"),
        (111, "many"),
        (101, "one"),
        (1004, "few"),
    ],
)
def test_russian_categories_follow_cldr(n: int, form: str) -> None:
    assert russian_form(n) == form


def test_counts_read_right_in_both_languages() -> None:
    assert count(1, "possible duplicate") == "1 possible duplicate"
    assert count(2, "possible duplicate") == "2 possible duplicates"
    assert count(1, "row") == "1 row" and count(1200, "row") == "1,200 rows"
    assert count(21, "лид", lang="ru") == "21 лид"
    assert count(3, "лид", lang="ru") == "3 лида"
    assert count(12, "лид", lang="ru") == "12 лидов"
    assert plural(0, "manager") == "managers"
