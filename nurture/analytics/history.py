"""Simulated sales histories with planted truths, for tests, notebooks and the benchmark.

:func:`generate` builds, in vectorised numpy (a million leads in seconds), the rows a real
Nurture database would hold after some months: events and their lead lists, a team with a
supervisor, assignments, campaign enrolments, e-mail touches, first-contact and call
tasks, replies and clicks, purchases. Into it go four truths the report must find:

- ``best_sequence``: leads whose call was done before the case-study e-mail and who replied
  after it convert at ``planted_conversion``; everybody else at ``base_conversion``;
- ``slow_stage``: the lead stage (``contacted`` or ``engaged``) that takes longest;
- ``late_manager``: one manager completes tasks days after their deadline (escalated);
- ``silent_event``: one event's leads are assigned but never touched;

and the sales process (:mod:`nurture.analytics.history_process`): deals whose slowest stage
is ``proposal``, an engineer pulled in for each proposal, a two-level escalation chain.

:func:`write` stores a history with the database driver's bulk path (``COPY`` on
PostgreSQL, ``executemany`` on SQLite) in the caller's transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from nurture.analytics.history_process import ENGINEER_ROLE, SLOW_DEAL_STAGE, add_sales_process
from nurture.db.sql import is_postgres, refresh_statistics

DAY = 86400
HOUR = 3600
STEPS: tuple[tuple[str, int], ...] = (
    ("welcome", 0),
    ("materials", 3),
    ("case-study", 7),
    ("news", 14),
    ("offer", 21),
)
EVENTS: tuple[tuple[str, str], ...] = (
    ("Innoprom 2026", "exhibition"),
    ("Metalloobrabotka 2026", "exhibition"),
    ("Seminar: lean production", "seminar"),
    ("Seminar: digital twins", "seminar"),
    ("Webinar: predictive maintenance", "webinar"),
    ("Webinar: robotics ROI", "webinar"),
    ("Partner webinar (list never worked)", "webinar"),
)
MANAGERS: tuple[tuple[str, str], ...] = (
    ("Anna Petrova", "Europe/Moscow"),
    ("Boris Ivanov", "Europe/Moscow"),
    ("Lev Opozdalov", "Europe/Moscow"),
    ("Daria Smirnova", "Asia/Yekaterinburg"),
    ("Egor Kuznetsov", "Europe/Berlin"),
    ("Fiona Clarke", "Europe/London"),
)


@dataclass(frozen=True)
class Truth:
    best_sequence: tuple[str, ...] = ("task:call", "email:case-study", "reply")
    slow_stage: str = "engaged"
    late_manager: str = "Lev Opozdalov"
    silent_event: str = EVENTS[-1][0]
    slow_deal_stage: str = SLOW_DEAL_STAGE
    pulled_in_role: str = ENGINEER_ROLE


@dataclass
class History:
    """Rows per table (DataFrames; times as epoch seconds in ``at`` and columns ending ``_at``)."""

    tables: dict[str, pd.DataFrame]
    truth: Truth
    start: datetime
    until: datetime

    @property
    def events(self) -> int:
        """Rows that record something happening to a lead (what the benchmark counts)."""
        return sum(len(self.tables[n]) for n in EVENT_TABLES)


def _at(base: np.ndarray, seconds: np.ndarray | float) -> np.ndarray:
    return (base + seconds).astype("int64")


def generate(
    leads: int = 3000,
    *,
    seed: int = 1,
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC),
    days: int = 180,
    slow_stage: str = "engaged",
    planted_conversion: float = 0.55,
    base_conversion: float = 0.04,
) -> History:
    """A history of ``leads`` leads met over ``days - 45`` days from ``start``, observed
    until ``start + days`` (every lead has at least 45 days of history)."""
    if slow_stage not in ("contacted", "engaged"):
        raise ValueError(f"slow_stage must be contacted or engaged, not {slow_stage!r}")
    rng = np.random.default_rng(seed)
    t0 = int(start.timestamp())
    n = leads
    ids = np.arange(1, n + 1)
    event_days = np.linspace(0, days - 46, len(EVENTS)).astype("int64")
    event = rng.integers(0, len(EVENTS), n)
    silent = event == len(EVENTS) - 1
    created = _at(t0 + event_days[event] * DAY + DAY + 6 * HOUR, rng.integers(0, 10 * HOUR, n))
    owner = rng.integers(0, len(MANAGERS), n)
    late = owner == 2
    kinds = np.array([k for _, k in EVENTS])
    campaign = np.searchsorted(np.array(["exhibition", "seminar", "webinar"]), kinds[event])

    # e-mail touches: every step of the lead's campaign, sent with p=0.93 (not for the
    # silent event, whose list nobody enrolled)
    step_at = {
        name: _at(created, delay * DAY + rng.integers(0, 4 * HOUR, n)) for name, delay in STEPS
    }
    sent = {name: (rng.random(n) < 0.93) & ~silent for name, _ in STEPS}
    # tasks: a first contact due in a day, a call on day 2 done (p=0.8) between day 1 and 12
    response = np.where(
        late, rng.lognormal(np.log(60 * HOUR), 0.3, n), rng.lognormal(np.log(3 * HOUR), 0.6, n)
    )
    first_done_at = np.where(silent, -1, _at(created, response))
    call_done = (rng.random(n) < 0.8) & ~silent
    call_at = _at(created, rng.uniform(1, 12, n) * DAY + np.where(late, 3 * DAY, 0))
    reply = (rng.random(n) < 0.3) & ~silent
    reply_at = _at(created, rng.uniform(0.5, 29, n) * DAY)
    click = (rng.random(n) < 0.25) & ~silent
    click_at = _at(created, rng.uniform(0.2, 29, n) * DAY)
    planted = (
        call_done
        & sent["case-study"]
        & (call_at < step_at["case-study"])
        & reply
        & (reply_at > step_at["case-study"])
    )
    converts = (rng.random(n) < np.where(planted, planted_conversion, base_conversion)) & ~silent
    engaged_at = np.minimum(
        np.where(reply, reply_at, np.iinfo("int64").max),
        np.where(click, click_at, np.iinfo("int64").max),
    )
    engaged_at = np.where(reply | click, engaged_at, 0)
    last_step = np.maximum(np.where(planted, reply_at, 0), engaged_at)
    wait = rng.uniform(10, 30, n) if slow_stage == "engaged" else rng.uniform(0.2, 2, n)
    conv_at = _at(np.maximum(last_step, created), wait * DAY)
    until = t0 + days * DAY
    converts &= conv_at < until
    lost = ~converts & (rng.random(n) < 0.1)
    status = np.where(converts, "converted", np.where(lost, "lost", "open"))

    tables: dict[str, pd.DataFrame] = {}
    tables["teams"] = pd.DataFrame(
        {
            "id": [1],
            "name": ["Sales"],
            "supervisor_email": ["head@example.com"],
            "is_fallback": [True],
        }
    )
    tables["managers"] = pd.DataFrame(
        {
            "id": np.arange(1, len(MANAGERS) + 3),
            "email": [f"m{i}@example.com" for i in range(1, len(MANAGERS) + 1)]
            + ["head@example.com", "engineer@example.com"],
            "name": [m for m, _ in MANAGERS] + ["Head of sales", "Igor Inzhenerov"],
            "team_id": 1,
            "role": ["manager"] * len(MANAGERS) + ["supervisor", "manager"],
            "weekly_capacity": 50,
            "weight": 1.0,
            "timezone": [z for _, z in MANAGERS] + ["Europe/Moscow", "Europe/Moscow"],
            "work_start": "09:00",
            "work_end": "18:00",
            "active": True,
            "rr_credit": 0.0,
        }
    )
    tables["events"] = pd.DataFrame(
        {
            "id": np.arange(1, len(EVENTS) + 1),
            "key": [f"{k}:{name}" for name, k in EVENTS],
            "name": [name for name, _ in EVENTS],
            "kind": [k for _, k in EVENTS],
            "event_date": [(start + timedelta(days=int(d))).date().isoformat() for d in event_days],
            "created_at": t0,
        }
    )
    tables["import_batches"] = pd.DataFrame(
        {
            "id": np.arange(1, len(EVENTS) + 1),
            "file_name": [f"event-{i}.csv" for i in range(1, len(EVENTS) + 1)],
            "file_sha256": [f"{i:064d}" for i in range(1, len(EVENTS) + 1)],
            "event_id": np.arange(1, len(EVENTS) + 1),
            "status": "done",
            "rows": np.bincount(event, minlength=len(EVENTS)),
            "blank": 0,
            "created": np.bincount(event, minlength=len(EVENTS)),
            "merged": 0,
            "quarantined": 0,
            "possible_duplicates": 0,
            "warnings": 0,
            "started_at": t0 + event_days * DAY + DAY,
            "last_row": 0,
        }
    )
    first_purchase = np.where(converts, conv_at, -1)
    tables["leads"] = pd.DataFrame(
        {
            "id": ids,
            "email": [f"lead{i}@example.org" for i in ids],
            "status": status,
            "owner_id": owner + 1,
            "email_status": "ok",
            "do_not_contact": False,
            "created_at": created,
            "updated_at": created,
            "last_activity_at": np.where(converts, first_purchase, -1),
        }
    )
    tables["lead_sources"] = pd.DataFrame(
        {
            "id": ids,
            "lead_id": ids,
            "event_id": event + 1,
            "batch_id": event + 1,
            "row_number": ids,
            "file_name": [f"event-{e}.csv" for e in event + 1],
            "outcome": "created",
            "created_at": created,
        }
    )
    tables["assignments"] = pd.DataFrame(
        {
            "id": ids,
            "lead_id": ids,
            "manager_id": owner + 1,
            "team_id": 1,
            "kind": "initial",
            "reason": "round-robin",
            "assigned_at": created + 60,
            "round_robin": True,
        }
    )
    tables["campaigns"] = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "slug": ["exhibition", "seminar", "webinar"],
            "name": ["Exhibition follow-up", "Seminar follow-up", "Webinar follow-up"],
            "priority": 0,
            "active": True,
            "definition": "{}",
            "updated_at": t0,
        }
    )
    tables["campaign_steps"] = pd.DataFrame(
        [
            {
                "id": c * 10 + p,
                "campaign_id": c,
                "position": p,
                "name": name,
                "delay_days": d,
                "anchor": "enrolment",
                "channel": "email",
                "template": f"sample/{name}",
            }
            for c in (1, 2, 3)
            for p, (name, d) in enumerate(STEPS)
        ]
    )
    enrolled = ~silent
    tables["enrollments"] = pd.DataFrame(
        {
            "id": ids[enrolled],
            "lead_id": ids[enrolled],
            "campaign_id": campaign[enrolled] + 1,
            "cycle": 1,
            "status": "completed",
            "next_position": len(STEPS),
            "enrolled_at": created[enrolled],
        }
    )
    touch_parts = []
    for position, (name, delay) in enumerate(STEPS):
        who = np.flatnonzero(enrolled)
        touch_parts.append(
            pd.DataFrame(
                {
                    "enrollment_id": ids[who],
                    "lead_id": ids[who],
                    "campaign_id": campaign[who] + 1,
                    "position": position,
                    "channel": "email",
                    "due_at": created[who] + delay * DAY,
                    "scheduled_at": step_at[name][who],
                    "status": np.where(sent[name][who], "done", "skipped"),
                    "created_at": created[who],
                }
            )
        )
    touches = pd.concat(touch_parts, ignore_index=True)
    touches.insert(0, "id", np.arange(1, len(touches) + 1))
    tables["touches"] = touches
    first = pd.DataFrame(
        {
            "lead_id": ids,
            "manager_id": owner + 1,
            "kind": "first_contact",
            "created_at": created + 120,
            "due_at": created + DAY,
            "deadline": "hard",
            "completed_at": first_done_at,
        }
    )
    calls = pd.DataFrame(
        {
            "lead_id": ids[~silent],
            "manager_id": owner[~silent] + 1,
            "kind": "call",
            "created_at": created[~silent] + 2 * DAY,
            "due_at": created[~silent] + 3 * DAY,
            "deadline": "recommended",
            "completed_at": np.where(call_done, call_at, -1)[~silent],
        }
    )
    tasks = pd.concat([first, calls], ignore_index=True)
    tasks.insert(0, "id", np.arange(1, len(tasks) + 1))
    done = (tasks["completed_at"] > 0) & (tasks["completed_at"] < until)
    tasks["completed_at"] = tasks["completed_at"].where(done, -1)
    tasks["status"] = np.where(done, "done", "open")
    tasks["source_key"] = "sim." + tasks["id"].astype(str)
    tasks["title"] = tasks["kind"]
    overdue = (tasks["deadline"] == "hard") & (
        (~done & (tasks["due_at"] + HOUR < until))
        | (tasks["completed_at"] > tasks["due_at"] + HOUR)
    )
    tasks["escalated_at"] = np.where(overdue, tasks["due_at"] + HOUR, -1)
    tasks["escalated_to"] = pd.Series("head@example.com", index=tasks.index).where(overdue)
    tables["tasks"] = tasks
    engagement = pd.concat(
        [
            pd.DataFrame({"lead_id": ids[reply], "kind": "reply", "occurred_at": reply_at[reply]}),
            pd.DataFrame({"lead_id": ids[click], "kind": "click", "occurred_at": click_at[click]}),
        ],
        ignore_index=True,
    )
    engagement = engagement[engagement["occurred_at"] < until]
    engagement.insert(0, "id", np.arange(1, len(engagement) + 1))
    tables["engagements"] = engagement
    buyers = ids[converts]
    amount = rng.lognormal(np.log(120_000), 0.5, len(buyers)) * np.where(event[converts] == 0, 3, 1)
    tables["purchases"] = pd.DataFrame(
        {
            "id": np.arange(1, len(buyers) + 1),
            "source_key": [f"sim.{i}" for i in buyers],
            "lead_id": buyers,
            "purchased_at": conv_at[converts],
            "amount": amount.round(2),
            "quantity": 1,
            "created_at": conv_at[converts],
        }
    )
    add_sales_process(
        tables,
        {
            "ids": ids,
            "created": created,
            "silent": silent,
            "owner_id": owner + 1,
            "converts": converts,
            "conv_at": conv_at,
        },
        rng=rng,
        until=until,
        engineer_id=len(MANAGERS) + 2,
    )
    return History(tables, Truth(slow_stage=slow_stage), start, datetime.fromtimestamp(until, UTC))


#: Tables in the order their foreign keys allow.
ORDER: tuple[str, ...] = (
    "teams",
    "managers",
    "events",
    "import_batches",
    "leads",
    "playbook_versions",
    "deals",
    "lead_sources",
    "assignments",
    "campaigns",
    "campaign_steps",
    "enrollments",
    "touches",
    "tasks",
    "engagements",
    "purchases",
    "event_log",
    "escalations",
)


#: The tables whose rows record something that happened to a lead or a deal.
EVENT_TABLES: tuple[str, ...] = (
    "lead_sources",
    "assignments",
    "enrollments",
    "touches",
    "tasks",
    "engagements",
    "purchases",
    "deals",
    "event_log",
    "escalations",
)

#: Integer columns that may hold NULL (pandas makes them float).
INTEGER_COLUMNS = frozenset({"level", "escalation_level"})


def _text_times(values: pd.Series, postgres: bool) -> pd.Series:
    """Epoch seconds as the backend's stored text (``-1`` means NULL)."""
    arr = values.to_numpy(dtype="int64")
    out = np.datetime_as_string(arr.astype("datetime64[s]").astype("datetime64[us]"), unit="us")
    out = np.char.replace(out, "T", " ")
    if postgres:
        out = np.char.add(out, "+00")
    series = pd.Series(out, index=values.index, dtype="object")
    return series.where(arr >= 0, None)


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for i in range(0, len(frame), size):
        yield frame.iloc[i : i + size]


def write(session: Session, history: History, *, chunk: int = 200_000) -> dict[str, int]:
    """Insert every table of ``history`` in the session's transaction; rows per table."""
    postgres = is_postgres(session)
    raw: Any = session.connection().connection.dbapi_connection
    written = {}
    for name in ORDER:
        frame = history.tables[name]
        for part in _chunks(frame, chunk):
            part = part.copy()
            for column in part.columns:
                kind = part[column].dtype.kind
                if (column == "at" or column.endswith("_at")) and kind in "iuf":
                    part[column] = _text_times(part[column].fillna(-1).astype("int64"), postgres)
                elif kind == "f" and (column.endswith("_id") or column in INTEGER_COLUMNS):
                    part[column] = part[column].astype("Int64")  # NaN where NULL
            columns = ", ".join(part.columns)
            if postgres:
                buffer = io.StringIO()
                part.to_csv(buffer, index=False, header=False)
                with (
                    raw.cursor() as cur,
                    cur.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy,
                ):
                    copy.write(buffer.getvalue())
            else:
                marks = ", ".join("?" for _ in part.columns)
                rows = (
                    part.astype(object).where(part.notna(), None).itertuples(index=False, name=None)
                )
                raw.cursor().executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)
        written[name] = len(frame)
    # plan the report's queries for the tables as they are now, not as they were empty
    refresh_statistics(session, ORDER, always=True)
    if postgres:
        for name in ORDER:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {name}))"
                )
            )
    return written
