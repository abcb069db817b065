"""The sales-process half of a simulated history (see :mod:`nurture.analytics.history`):
deals on the ``b2b-sale`` playbook, their stage changes in the event log, playbook actions
with outcome forms, an engineer pulled in for the proposal, and an escalation chain whose
second level reassigns the late manager's tasks.

Planted: the ``proposal`` stage is the slowest deal stage (it waits for approvals), and
the ``engineer`` role is pulled in for every proposal.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

DAY = 86400
HOUR = 3600
PLAYBOOK = "b2b-sale"
DEAL_STAGES = ("qualification", "proposal", "negotiation")
SLOW_DEAL_STAGE = "proposal"
ENGINEER_ROLE = "engineer"


def _json(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False)


def add_sales_process(
    tables: dict[str, pd.DataFrame],
    lead: dict[str, np.ndarray],
    *,
    rng: np.random.Generator,
    until: int,
    engineer_id: int,
) -> None:
    """Add ``playbook_versions``, ``deals``, ``event_log`` and ``escalations`` rows and the
    playbook action tasks to ``tables`` (``lead``: the per-lead arrays of the history)."""
    ids, created, conv_at = lead["ids"], lead["created"], lead["conv_at"]
    # a third of the worked leads get a deal, whether or not they will buy (so having one
    # predicts nothing); a buyer's deal opens before the purchase and is won by it
    opened = created + rng.uniform(3, 25, len(ids)) * DAY
    opened = np.where(lead["converts"], np.minimum(opened, conv_at - 2 * DAY), opened)
    opened = np.maximum(opened, created + HOUR).astype("int64")
    has_deal = (rng.random(len(ids)) < 0.35) & ~lead["silent"] & (opened < until)
    who = np.flatnonzero(has_deal)
    n = len(who)
    won = lead["converts"][who]
    o = opened[who]
    total = (conv_at[who] - o).astype("float64")
    q_end = np.where(won, o + 0.15 * total, o + rng.uniform(1, 4, n) * DAY).astype("int64")
    p_end = np.where(won, o + 0.75 * total, q_end + rng.uniform(8, 15, n) * DAY).astype("int64")
    n_end = np.where(won, conv_at[who], p_end + rng.uniform(2, 5, n) * DAY).astype("int64")
    # every deal gets a proposal (so reaching it says nothing about winning); deals not won
    # are lost after the proposal (40%) or after the negotiation
    drop = rng.random(n)
    lost_at = np.where(drop < 0.4, p_end, n_end)
    end_at = np.where(won, n_end, lost_at)
    reaches_p = np.ones(n, dtype=bool)
    reaches_n = won | (drop >= 0.4)
    deal_ids = np.arange(1, n + 1)
    owner = lead["owner_id"][who]

    tables["playbook_versions"] = pd.DataFrame(
        {
            "id": [1],
            "name": [PLAYBOOK],
            "version": [1],
            "sha256": ["0" * 64],
            "file_name": [f"{PLAYBOOK}.yaml"],
            "definition": [_json({"name": PLAYBOOK, "stages": list(DEAL_STAGES)})],
            "source": ["# simulated"],
            "loaded_at": [int(o.min()) if n else until],
        }
    )
    ended = end_at < until
    stage_now = np.select(
        [reaches_n & (n_end <= until), reaches_p & (p_end <= until)],
        ["negotiation", "proposal"],
        "qualification",
    )
    entered_now = np.select(
        [stage_now == "negotiation", stage_now == "proposal"], [p_end, q_end], o
    )
    tables["deals"] = pd.DataFrame(
        {
            "id": deal_ids,
            "lead_id": ids[who],
            "owner_id": owner,
            "playbook": PLAYBOOK,
            "version_id": 1,
            "version": 1,
            "stage": stage_now,
            "stage_entered_at": entered_now,
            "status": np.where(ended, np.where(won, "won", "lost"), "open"),
            "amount": np.where(won & ended, 100_000.0, np.nan),
            "currency": "RUB",
            "opened_at": o,
            "closed_at": np.where(ended, end_at, -1),
            "last_progress_at": np.where(ended, end_at, entered_now),
        }
    )
    parts = [
        pd.DataFrame(
            {
                "at": o,
                "type": "deal.opened",
                "lead_id": ids[who],
                "deal_id": deal_ids,
                "data": _json({"playbook": PLAYBOOK, "version": 1, "stage": DEAL_STAGES[0]}),
            }
        )
    ]
    for before, after, at, mask in (
        ("qualification", "proposal", q_end, reaches_p),
        ("proposal", "negotiation", p_end, reaches_n),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "at": at[mask],
                    "type": "deal.stage_changed",
                    "lead_id": ids[who][mask],
                    "deal_id": deal_ids[mask],
                    "data": _json({"from": before, "to": after}),
                }
            )
        )
    for kind, mask in (("deal.won", won), ("deal.lost", ~won)):
        parts.append(
            pd.DataFrame(
                {
                    "at": end_at[mask],
                    "type": kind,
                    "lead_id": ids[who][mask],
                    "deal_id": deal_ids[mask],
                    "data": _json({}),
                }
            )
        )

    # playbook actions: the qualifying call with its outcome form, and the engineer's
    # technical review of every proposal
    tasks = tables["tasks"]
    first_id = int(tasks["id"].max()) + 1 if len(tasks) else 1
    # the qualifying answer is planted as noise: only the best sequence predicts winning
    interested = np.where(rng.random(n) < 0.75, "yes", "no")
    qualify = pd.DataFrame(
        {
            "lead_id": ids[who],
            "manager_id": owner,
            "kind": "action",
            "created_at": o,
            "due_at": o + 2 * DAY,
            "deadline": "hard",
            "completed_at": q_end,
            "deal_id": deal_ids,
            "stage": "qualification",
            "action": "qualify",
            "outcome_values": [_json({"interested": v, "budget": 100000}) for v in interested],
        }
    )
    review_at = q_end[reaches_p]
    review = pd.DataFrame(
        {
            "lead_id": ids[who][reaches_p],
            "manager_id": engineer_id,
            "kind": "action",
            "created_at": review_at,
            "due_at": review_at + 2 * DAY,
            "deadline": "recommended",
            "completed_at": review_at
            + rng.uniform(4 * HOUR, 3 * DAY, int(reaches_p.sum())).astype("int64"),
            "deal_id": deal_ids[reaches_p],
            "stage": "proposal",
            "action": "technical-review",
            "role": ENGINEER_ROLE,
            "outcome_values": None,
        }
    )
    extra = pd.concat([qualify, review], ignore_index=True)
    extra.insert(0, "id", np.arange(first_id, first_id + len(extra)))
    done = extra["completed_at"] < until
    extra["completed_at"] = extra["completed_at"].where(done, -1)
    extra["status"] = np.where(done, "done", "open")
    extra["outcome_values"] = extra["outcome_values"].where(done, None)
    extra["source_key"] = "sim." + extra["id"].astype(str)
    extra["title"] = extra["action"]
    extra = extra[extra["created_at"] < until]
    tasks = pd.concat([tasks, extra], ignore_index=True)

    # the escalation chain: level 1 tells the supervisor an hour after a missed hard
    # deadline; level 2 reassigns what is still not done three days later
    escalated = tasks["escalated_at"] > 0
    completed = tasks["completed_at"].where(tasks["completed_at"] > 0, np.inf)
    second = (
        escalated & (completed > tasks["due_at"] + 3 * DAY) & (tasks["due_at"] + 3 * DAY < until)
    )
    tasks["escalation_level"] = np.where(second, 2, np.where(escalated, 1, 0))
    esc1 = tasks[escalated]
    esc2 = tasks[second]
    escalations = pd.concat(
        [
            pd.DataFrame(
                {
                    "task_id": esc1["id"],
                    "level": 1,
                    "fired_at": esc1["escalated_at"],
                    "lead_id": esc1["lead_id"],
                    "action": "notify",
                    "recipient": "head@example.com",
                    "from_manager_id": esc1["manager_id"],
                    "overdue_seconds": HOUR,
                }
            ),
            pd.DataFrame(
                {
                    "task_id": esc2["id"],
                    "level": 2,
                    "fired_at": esc2["due_at"] + 3 * DAY,
                    "lead_id": esc2["lead_id"],
                    "action": "reassign",
                    "recipient": None,
                    "from_manager_id": esc2["manager_id"],
                    "to_manager_id": 1,
                    "overdue_seconds": 3 * DAY,
                }
            ),
        ],
        ignore_index=True,
    )
    escalations.insert(0, "id", np.arange(1, len(escalations) + 1))
    tables["escalations"] = escalations
    parts.append(
        pd.DataFrame(
            {
                "at": escalations["fired_at"],
                "type": "task.escalated",
                "lead_id": escalations["lead_id"],
                "task_id": escalations["task_id"],
                "level": escalations["level"],
                "data": _json({"action": "notify"}),
            }
        )
    )
    emails = tables["managers"].set_index("id")["email"]
    parts.append(
        pd.DataFrame(
            {
                "at": esc2["due_at"] + 3 * DAY,
                "type": "task.reassigned",
                "lead_id": esc2["lead_id"],
                "task_id": esc2["id"],
                "data": [
                    _json({"from": emails[int(m)], "to": emails[1], "reason": "escalation level 2"})
                    for m in esc2["manager_id"]
                ],
            }
        )
    )
    log = pd.concat(parts, ignore_index=True)
    log = log[log["at"] < until].sort_values("at", kind="stable")
    log.insert(0, "id", np.arange(1, len(log) + 1))
    log["actor"] = "nurture"
    tables["event_log"] = log
    tables["tasks"] = tasks
