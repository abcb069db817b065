"""Which sequences of actions, outcomes and touches convert: sequential pattern mining.

Input: each distinct sequence of steps of a lead's first days with how many converted and
not converted leads had it (:func:`nurture.analytics.extract.sequence_counts`). Leads share
sequences (campaign steps are the same for many), so the miner works on the distinct ones,
each weighted by its number of leads: a million leads cost what their few thousand distinct
paths cost.

Mining is PrefixSpan (the MIT ``prefixspan`` package) run separately for the converted and
the not converted leads, in one pass: the support function is the larger of a pattern's
share among converted leads and its share among the others, so a pattern is kept when it is
frequent in either group (the union of the two separate mines), and both counts come from
the same projection. Patterns are subsequences (gaps allowed) of 2 to 4 steps.

For each pattern: ``support`` (share of all leads whose first days contain it),
``conversion`` (share of those leads who converted), ``lift`` (``conversion`` over the base
conversion rate), and ``ci_low``/``ci_high``: the 95% Wilson interval of ``conversion``.
Ranked by lift, then by support; patterns seen in fewer than ``min_leads`` leads are left
out (their lift is noise).

PrefixSpan is pure Python and its cost grows with the distinct sequences, so a cohort
larger than ``max_leads`` is mined on a uniform random sample of that many leads (seeded:
the same data gives the same answer): supports, conversions and the base rate are then
the sample's estimates, and the intervals are the sample's (``mined_leads`` says how many).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from prefixspan import PrefixSpan

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (good at small ``n`` and near 0 or 1)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class MiningOptions:
    """``days``: the window after intake; ``min_support``: the least share of converted or
    of not converted leads a pattern must reach; ``min_leads``: the least leads behind a
    reported pattern; ``top``: how many to report."""

    days: int = 30
    min_support: float = 0.02
    min_leads: int = 30
    min_length: int = 2
    max_length: int = 4
    top: int = 20
    max_leads: int = 10_000
    seed: int = 0


def sample(counts: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A uniform sample of ``size`` leads without replacement, drawn from the per-sequence
    counts (multivariate hypergeometric: each lead equally likely), same seed same sample."""
    rng = np.random.default_rng(seed)
    drawn = rng.multivariate_hypergeometric(
        counts["leads"].to_numpy(dtype="int64"), size, method="marginals"
    )
    out = counts.assign(leads=drawn)
    return out[out["leads"] > 0].reset_index(drop=True)


def mine(counts: pd.DataFrame, options: MiningOptions | None = None) -> dict[str, Any]:
    """Rank the frequent patterns of ``counts`` (columns ``seq``, ``converted``, ``leads``)."""
    opts = options or MiningOptions()
    cohort = int(counts["leads"].sum()) if len(counts) else 0
    if cohort > opts.max_leads:
        counts = sample(counts, opts.max_leads, opts.seed)
    total = int(counts["leads"].sum()) if len(counts) else 0
    won = int(counts.loc[counts["converted"] == 1, "leads"].sum()) if total else 0
    result: dict[str, Any] = {
        "leads": cohort,
        "mined_leads": total,
        "converted": won,
        "base_conversion": round(won / total, 4) if total else None,
        "days": opts.days,
        "min_support": opts.min_support,
        "patterns": [],
    }
    if total == 0 or won in (0, total):
        return result
    base = won / total
    vocabulary: dict[str, int] = {}
    db: list[list[int]] = []
    w_won: list[int] = []
    w_lost: list[int] = []
    for seq, converted, leads in counts[["seq", "converted", "leads"]].itertuples(index=False):
        steps = str(seq).split()
        if len(steps) < opts.min_length:
            continue
        db.append([vocabulary.setdefault(s, len(vocabulary)) for s in steps])
        w_won.append(int(leads) if converted else 0)
        w_lost.append(0 if converted else int(leads))
    names = {i: s for s, i in vocabulary.items()}
    n_won, n_lost = won, total - won

    def support(_patt: list[int], matches: list[tuple[int, int]]) -> float:
        a = sum(w_won[i] for i, _ in matches)
        b = sum(w_lost[i] for i, _ in matches)
        return max(a / n_won, b / n_lost)

    found: list[dict[str, Any]] = []

    def keep(patt: list[int], matches: list[tuple[int, int]]) -> None:
        a = sum(w_won[i] for i, _ in matches)
        n = a + sum(w_lost[i] for i, _ in matches)
        if n < opts.min_leads:
            return
        conversion = a / n
        low, high = wilson(a, n)
        found.append(
            {
                "steps": [names[i] for i in patt],
                "leads": n,
                "converted": a,
                "support": round(n / total, 4),
                "conversion": round(conversion, 4),
                "lift": round(conversion / base, 3),
                "ci_low": round(low, 4),
                "ci_high": round(high, 4),
            }
        )

    miner = PrefixSpan(db)
    miner.minlen, miner.maxlen = opts.min_length, opts.max_length
    miner.frequent(opts.min_support, key=support, bound=support, callback=keep)
    found.sort(key=lambda p: (-p["lift"], -p["support"], len(p["steps"]), p["steps"]))
    result["patterns"] = _without_redundant(found, opts.top)
    return result


def _without_redundant(ranked: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """The first ``top`` patterns, leaving out a longer pattern whose 95% interval does not
    clear a shorter pattern inside it (its extra steps add nothing that can be told from
    noise: ``welcome, call, reply`` when everybody gets the welcome and ``call, reply``
    converts as well)."""
    conversion = {tuple(p["steps"]): p["conversion"] for p in ranked}
    kept: list[dict[str, Any]] = []
    for p in ranked:
        steps = tuple(p["steps"])
        shorter = (
            sub for k in range(2, len(steps)) for sub in combinations(steps, k) if sub in conversion
        )
        if any(conversion[sub] >= p["ci_low"] for sub in shorter):
            continue
        kept.append(p)
        if len(kept) == top:
            break
    return kept
