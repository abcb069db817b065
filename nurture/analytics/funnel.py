"""The lead funnel: how many leads of each event, campaign, source and manager reached
each stage, the conversion from stage to stage and where they dropped off.

Stages of a lead's life as today's tables record it: ``intake`` (met at an event),
``assigned`` (an owner), ``touched`` (an e-mail sent, a task or touch done), ``engaged``
(replied or clicked), ``converted`` (bought or marked converted). A lead counts as having
reached a stage when it reached that stage or any later one (a lead who bought without a
reply still passed the earlier stages), so every row narrows from left to right.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pandas as pd

STAGES: tuple[str, ...] = ("intake", "assigned", "touched", "engaged", "converted")
STATUSES: tuple[str, ...] = ("open", "converted", "lost", "closed")
#: The breakdowns of the funnel and the lead-facts column each is named by.
DIMENSIONS: tuple[str, ...] = ("event", "kind", "campaign", "source", "manager", "team")


def labels(column: pd.Series, missing: str = "(none)") -> pd.Series:
    """A column as text keys for grouping, ``missing`` where it is empty.

    Through ``object`` first: a column that is all missing arrives as float64, and pandas
    refuses to put text into a float column."""
    return column.astype(object).where(column.notna(), missing).astype(str)


def reached(leads: pd.DataFrame) -> pd.DataFrame:
    """Per lead, 0/1 for each of :data:`STAGES` (cumulative from the right)."""
    flags = pd.DataFrame(index=leads.index)
    flags["converted"] = leads["converted"].notna() | (leads["status"] == "converted")
    flags["engaged"] = leads["engaged"].notna() | flags["converted"]
    flags["touched"] = leads["first_touch"].notna() | flags["engaged"]
    flags["assigned"] = leads["assigned"].notna() | leads["owner_id"].notna() | flags["touched"]
    flags["intake"] = True
    return flags[list(STAGES)].astype("int64")


def _rows(counts: pd.DataFrame, statuses: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    out = []
    for key, row in counts.iterrows():
        stages = {s: int(row[s]) for s in STAGES}
        rates: dict[str, float | None] = {}
        drop: dict[str, int] = {}
        for before, after in pairwise(STAGES):
            rates[after] = round(stages[after] / stages[before], 4) if stages[before] else None
            drop[after] = stages[before] - stages[after]
        out.append(
            {
                name: key,
                "leads": stages["intake"],
                "stages": stages,
                "rates": rates,
                "drop_off": drop,
                "conversion": round(stages["converted"] / stages["intake"], 4)
                if stages["intake"]
                else None,
                "statuses": {s: int(statuses.loc[key, s]) for s in STATUSES}
                if key in statuses.index
                else dict.fromkeys(STATUSES, 0),
            }
        )
    out.sort(key=lambda r: (-r["leads"], str(r[name])))
    return out


def funnel(leads: pd.DataFrame) -> dict[str, Any]:
    """The funnel overall and by each of :data:`DIMENSIONS` (columns of ``leads``, already
    named; a missing value reads ``"(none)"``)."""
    flags = reached(leads)
    status = leads["status"].where(leads["status"].isin(STATUSES), "open")
    by: dict[str, list[dict[str, Any]]] = {}
    for dim in DIMENSIONS:
        keys = labels(leads[dim]) if dim in leads else None
        if keys is None:
            continue
        counts = flags.groupby(keys.to_numpy()).sum()
        statuses = pd.crosstab(keys.to_numpy(), status.to_numpy()).reindex(
            columns=list(STATUSES), fill_value=0
        )
        by[dim] = _rows(counts, statuses, dim)
    total = (
        pd.DataFrame([flags.sum()], index=["all"])
        if len(flags)
        else pd.DataFrame([dict.fromkeys(STAGES, 0)], index=["all"])
    )
    overall_status = pd.DataFrame(
        [status.value_counts().reindex(list(STATUSES), fill_value=0)], index=["all"]
    )
    overall = _rows(total, overall_status, "scope")[0]
    return {"stages": list(STAGES), "overall": overall, "by": by}
