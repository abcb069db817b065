"""Where the time goes: time in each stage and per action, deadlines kept and missed,
escalations, reassignments, per manager and team, and which roles were pulled in.

All durations are business hours of the assignee's calendar (work hours, zone, holidays:
:mod:`nurture.analytics.business`), reported as median and 90th percentile.

*Stages* are intervals ``(stage, who, start, end)``: today the stages of a lead's life
(``new``: intake to first touch; ``contacted``: first touch to first reply or click;
``engaged``: reply to conversion); an interval still open at ``until`` counts as
``still_in`` and not in the medians (its end is unknown).

*Actions* are tasks: time from created to done, ``overdue`` when done after its due time or
still open past it (of the tasks due by ``until`` or done), ``escalated`` when a missed
hard deadline was escalated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nurture.analytics.business import Calendar, business_hours_by

LEAD_STAGES: tuple[tuple[str, str, str], ...] = (
    ("new", "created", "first_touch"),
    ("contacted", "first_touch", "engaged"),
    ("engaged", "engaged", "converted"),
)


def _q(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    return round(float(np.quantile(values, q)), 2) if len(values) else None


def lead_stage_intervals(leads: pd.DataFrame) -> pd.DataFrame:
    """The lifecycle stages of each lead as intervals (``end`` NaN while still in it)."""
    parts = []
    for stage, start, end in LEAD_STAGES:
        entered = leads[leads[start].notna()]
        parts.append(
            pd.DataFrame(
                {
                    "stage": stage,
                    "who": entered["owner_id"],
                    "start": entered[start],
                    "end": entered[end],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["stage", "who", "start", "end"])
    return pd.concat(parts, ignore_index=True)


def stage_times(
    intervals: pd.DataFrame,
    *,
    calendars: dict[int, Calendar],
    default: Calendar,
    order: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Per stage: entered, left, still in, median and p90 business hours of those who left;
    ``slowest`` marks the stage with the highest median."""
    if intervals.empty:
        return []
    hours = business_hours_by(intervals, "start", "end", "who", calendars, default)
    frame = intervals.assign(hours=hours)
    rows: list[dict[str, Any]] = []
    names = order or list(dict.fromkeys(frame["stage"]))
    for stage in names:
        g = frame[frame["stage"] == stage]
        rows.append(
            {
                "stage": stage,
                "entered": len(g),
                "left": int(g["end"].notna().sum()),
                "still_in": int(g["end"].isna().sum()),
                "median_hours": _q(g["hours"], 0.5),
                "p90_hours": _q(g["hours"], 0.9),
                "slowest": False,
            }
        )
    timed = [r for r in rows if r["median_hours"] is not None]
    if timed:
        max(timed, key=lambda r: float(r["median_hours"]))["slowest"] = True
    return rows


def _task_frame(
    tasks: pd.DataFrame, until_s: int, calendars: dict[int, Calendar], default: Calendar
) -> pd.DataFrame:
    frame = tasks.copy()
    frame["hours"] = business_hours_by(
        frame, "created", "completed", "manager_id", calendars, default
    )
    done = frame["completed"].notna()
    frame["late_hours"] = business_hours_by(
        frame.assign(upto=np.where(done, frame["completed"], float(until_s))),
        "due",
        "upto",
        "manager_id",
        calendars,
        default,
    )
    frame["done"] = done
    frame["due_by_now"] = done | (frame["due"] < until_s)
    frame["overdue"] = frame["due_by_now"] & np.where(
        done,
        frame["completed"] > frame["due"],
        (frame["status"] == "open") & (frame["due"] < until_s),
    )
    frame["was_escalated"] = frame["escalated"].notna()
    return frame


def _task_summary(g: pd.DataFrame) -> dict[str, Any]:
    due = int(g["due_by_now"].sum())
    late = g.loc[g["overdue"], "late_hours"]
    return {
        "tasks": len(g),
        "done": int(g["done"].sum()),
        "open": int((g["status"] == "open").sum()),
        "median_hours": _q(g["hours"], 0.5),
        "p90_hours": _q(g["hours"], 0.9),
        "overdue": int(g["overdue"].sum()),
        "overdue_rate": round(float(g["overdue"].sum()) / due, 4) if due else None,
        "median_hours_late": _q(late, 0.5),
        "escalated": int(g["was_escalated"].sum()),
    }


def action_times(
    tasks: pd.DataFrame,
    *,
    until_s: int,
    managers: pd.DataFrame,
    reassignments: pd.DataFrame,
    calendars: dict[int, Calendar],
    default: Calendar,
) -> dict[str, Any]:
    """Per action kind, per manager, per team and per role; escalations by level."""
    if tasks.empty:
        return {
            "actions": [],
            "managers": [],
            "teams": [],
            "roles": [],
            "escalations": [],
            "reassignments": int(reassignments["leads"].sum()) if len(reassignments) else 0,
        }
    frame = _task_frame(tasks, until_s, calendars, default)
    people = managers.set_index("manager_id") if not managers.empty else None

    def lookup(column: str, default_value: str) -> pd.Series:
        if people is None:
            return pd.Series(default_value, index=frame.index)
        return frame["manager_id"].map(people[column]).fillna(default_value)

    frame["manager"] = lookup("manager", "(unassigned)")
    frame["team"] = lookup("team", "(none)").replace("", "(none)")
    # the role pool a playbook action was given to (engineer, ...), else the person's role
    pooled = frame["role"] if "role" in frame else pd.Series(None, index=frame.index)
    frame["role"] = pooled.where(pooled.notna(), lookup("role", "(unassigned)"))
    name = frame["action"] if "action" in frame else frame["kind"]
    actions = [{"action": k, **_task_summary(g)} for k, g in frame.groupby(name, sort=True)]
    moved_from = reassignments.groupby("from_id")["leads"].sum() if len(reassignments) else {}
    moved_to = reassignments.groupby("to_id")["leads"].sum() if len(reassignments) else {}
    by_manager = []
    for (manager_id, name, team), g in frame.groupby(
        [frame["manager_id"].fillna(-1), "manager", "team"], sort=True
    ):
        mid = int(manager_id)
        by_manager.append(
            {
                "manager": name,
                "team": team,
                **_task_summary(g),
                "reassigned_away": int(moved_from.get(mid, 0)) if mid >= 0 else 0,
                "reassigned_in": int(moved_to.get(mid, 0)) if mid >= 0 else 0,
            }
        )
    by_manager.sort(key=lambda r: (-(r["overdue_rate"] or 0), r["manager"]))
    teams = [{"team": k, **_task_summary(g)} for k, g in frame.groupby("team", sort=True)]
    roles = [
        {
            "role": role,
            "leads": int(g["lead_id"].nunique()),
            "tasks": len(g),
            "hours_total": round(float(g["hours"].sum()), 2),
            "median_hours": _q(g["hours"], 0.5),
        }
        for role, g in frame.groupby("role", sort=True)
    ]
    escalated = frame[frame["was_escalated"]]
    # tasks escalated with no escalation log (the cadence's own level 1)
    escalations = (
        [
            {
                "level": 1,
                "action": "notify",
                "escalations": len(escalated),
                "tasks": len(escalated),
                "leads": int(escalated["lead_id"].nunique()),
                "median_hours_late": _q(escalated["late_hours"], 0.5),
                "by_manager": {
                    str(k): int(v) for k, v in escalated["manager"].value_counts().items()
                },
            }
        ]
        if len(escalated)
        else []
    )
    return {
        "actions": actions,
        "managers": by_manager,
        "teams": teams,
        "roles": roles,
        "escalations": escalations,
        "reassignments": int(reassignments["leads"].sum()) if len(reassignments) else 0,
    }
