"""The sales process from the playbooks' event log: the deal funnel by stage, time in each
deal stage (business hours of the deal owner's calendar) per manager and team, and
escalations by level.

Stage order: the order in which deals first enter the stages (the mean position of a
stage in its deals' paths), so a playbook needs no extra configuration and a deal sent
back to an earlier stage counts once per stage in the funnel.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from nurture.analytics.business import Calendar
from nurture.analytics.process_extract import DEAL_ENDS
from nurture.analytics.timing import stage_times

ENDS = tuple(DEAL_ENDS.values())


def stage_order(visits: pd.DataFrame) -> list[str]:
    """Stages in the order deals reach them (terminal ones last)."""
    if visits.empty:
        return []
    path = visits.sort_values(["deal_id", "start"]).assign(
        position=lambda v: v.groupby("deal_id").cumcount()
    )
    first = path.drop_duplicates(["deal_id", "stage"])
    mean = first.groupby("stage")["position"].mean()
    middle = sorted((s for s in mean.index if s not in ENDS), key=lambda s: (mean[s], s))
    return middle + [s for s in ENDS if s in mean.index]


def _funnel_rows(visits: pd.DataFrame, order: list[str], key: str | None) -> list[dict[str, Any]]:
    groups = [("all", visits)] if key is None else list(visits.groupby(key, sort=True))
    rows = []
    for name, g in groups:
        reached = g.groupby("stage")["deal_id"].nunique().reindex(order, fill_value=0)
        deals = int(g["deal_id"].nunique())
        path = [s for s in order if s not in ENDS]
        rates = {
            after: round(int(reached[after]) / int(reached[before]), 4) if reached[before] else None
            for before, after in pairwise(path)
        }
        rows.append(
            {
                (key or "scope"): str(name),
                "deals": deals,
                "reached": {s: int(reached[s]) for s in order},
                "rates": rates,
                "drop_off": {
                    after: int(reached[before]) - int(reached[after])
                    for before, after in pairwise(path)
                },
                "won": int(reached.get("(won)", 0)),
                "win_rate": round(int(reached.get("(won)", 0)) / deals, 4) if deals else None,
            }
        )
    return rows


def deal_funnel(visits: pd.DataFrame) -> dict[str, Any]:
    """Deals reaching each stage, overall and per playbook and manager (``visits`` from
    :func:`~nurture.analytics.process_extract.deal_stage_visits` with ``manager`` named)."""
    order = stage_order(visits)
    if visits.empty:
        return {"stages": [], "overall": None, "by": {}}
    return {
        "stages": order,
        "overall": _funnel_rows(visits, order, None)[0],
        "by": {
            "playbook": _funnel_rows(visits, order, "playbook"),
            "manager": _funnel_rows(visits, order, "manager"),
        },
    }


def deal_stage_times(
    visits: pd.DataFrame, *, calendars: dict[int, Calendar], default: Calendar
) -> dict[str, Any]:
    """Time in each deal stage overall, and per manager and per team."""
    open_stages = visits[~visits["stage"].isin(ENDS)] if len(visits) else visits
    if open_stages.empty:
        return {"stages": [], "managers": [], "teams": []}
    order = [s for s in stage_order(visits) if s not in ENDS]
    intervals = open_stages.rename(columns={"owner_id": "who"})
    overall = stage_times(intervals, calendars=calendars, default=default, order=order)
    out: dict[str, Any] = {"stages": overall}
    for key in ("manager", "team"):
        rows = []
        for name, g in intervals.groupby(key, sort=True):
            for r in stage_times(g, calendars=calendars, default=default, order=order):
                if r["entered"]:
                    rows.append({key: name, **r})
        out[f"{key}s"] = rows
    return out


def escalations_by_level(escalations: pd.DataFrame, managers: pd.DataFrame) -> list[dict[str, Any]]:
    """Per level and action: how many escalations, tasks, leads, how late (hours, median),
    and whose deadlines they were."""
    if escalations.empty:
        return []
    names = managers.set_index("manager_id")["manager"] if len(managers) else pd.Series(dtype=str)
    rows = []
    for (level, action), g in escalations.groupby(["level", "action"], sort=True):
        whose = g["manager_id"].map(names).fillna("(unassigned)").value_counts()
        rows.append(
            {
                "level": int(level),
                "action": str(action),
                "escalations": len(g),
                "tasks": int(g["task_id"].nunique()),
                "leads": int(g["lead_id"].nunique()),
                "median_hours_late": round(float(np.median(g["overdue_seconds"])) / 3600, 2),
                "by_manager": {str(k): int(v) for k, v in whose.items()},
            }
        )
    return rows
