"""Shards of the nurture cycle: which leads one worker plans.

A shard is ``K/N`` on the command line and in the flow (``nurture run --shard 2/3``): the
K-th of N shards, K from 1 to N. Inside, :class:`Shard` keeps the 0-based ``index``
(``K - 1``) and the ``count`` N. A lead belongs to the shard whose index is its id modulo
the count: ids are handed out in sequence, so the shards get about the same number of
leads, and every lead belongs to exactly one shard.

Shards split by lead, not by enrolment, because the frequency cap counts a lead's touches
across all its campaigns: one worker plans all of a lead's touches, so two workers never
both fill the same lead's cap.

:func:`shard_clause` is the SQL form (the same on SQLite and PostgreSQL) and
:func:`in_shard` its Python twin, tested against each other
(``tests/cadence/test_shards.py``). Ids are positive, where SQL's ``%`` and Python's agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, literal_column, true

from nurture.errors import InputError

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``: the leads whose id % count == index."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InputError(f"a shard count must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise InputError(
                f"shard index {self.index} is outside 0..{self.count - 1} "
                f"(the shards of {self.count})"
            )

    @property
    def label(self) -> str:
        """``K/N`` as the command line writes it (K 1-based)."""
        return f"{self.index + 1}/{self.count}"

    @property
    def lock_name(self) -> str:
        """The advisory lock of this shard's planning: ``cycle.shard.<N>.<K>``, so shards
        of the same N plan in parallel and the same shard never runs twice at once."""
        return f"cycle.shard.{self.count}.{self.index + 1}"


def parse_shard(value: str) -> Shard:
    """``"K/N"`` (K in 1..N) as a :class:`Shard`; anything else is an :class:`InputError`
    that says what is expected."""
    match = _SHARD.fullmatch(value)
    if match is None:
        raise InputError(f"--shard {value!r}: expected K/N, e.g. 1/2 (shard K of N, K from 1 to N)")
    k, n = int(match.group(1)), int(match.group(2))
    if n < 1 or not 1 <= k <= n:
        raise InputError(f"--shard {value!r}: expected K/N with K between 1 and N")
    return Shard(index=k - 1, count=n)


def shard_clause(column: Any, shard: Shard) -> ColumnElement[bool]:
    """SQL: ``column`` (a lead id) belongs to ``shard``. The numbers are written into the
    statement (not bound) so each shard's statements are cached and planned as constants;
    one shard is everything."""
    if shard.count == 1:
        return true()
    count = literal_column(str(int(shard.count)), Integer())
    index = literal_column(str(int(shard.index)), Integer())
    clause: ColumnElement[bool] = (column % count) == index
    return clause


def in_shard(lead_id: int, shard: Shard) -> bool:
    """Python: the lead ``lead_id`` belongs to ``shard`` (the twin of :func:`shard_clause`)."""
    return lead_id % shard.count == shard.index


__all__ = ["Shard", "in_shard", "parse_shard", "shard_clause"]
