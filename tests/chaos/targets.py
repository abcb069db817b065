"""What the chaos driver kills: four targets, each with its starting state, its command and
the invariants that must hold after a ``kill -9`` and a rerun.

A target's *fingerprint* is the part of the database (and, for sending, of what the SMTP
server received) that a crash could damage, in a form that does not depend on row ids the
killed run may have burnt (PostgreSQL sequences move on in a rolled-back transaction) or on
wall-clock times. The rerun's fingerprint must equal the clean run's, with one documented
exception: messages cut after SMTP DATA are ``unknown`` (counted, never re-sent).
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from nurture.config import PROJECT_ROOT
from nurture.db.session import make_engine

EVENT_DATE = "2026-07-07"
#: The cycle runs three days after the exhibition: the first touches of every lead are due.
CYCLE_NOW = "2026-07-10T09:00:00+00:00"
#: When the lists are taken in (routing's first-contact deadlines follow from it).
IMPORT_NOW = "2026-07-09T07:00:00+00:00"
SEND_NOW = "2026-07-12T12:00:00+00:00"
ESCALATE_NOW = datetime(2026, 7, 15, 7, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Moscow

Fingerprint = dict[str, Counter[tuple[Any, ...]]]


def _rows(url: str, sql: str) -> Counter[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return Counter(tuple(str(v) for v in r) for r in conn.execute(text(sql)))
    finally:
        engine.dispose()


def write_leads_csv(
    path: Path, rows: int, seed: int, *, prefix: str = "lead", offset: int = 0
) -> int:
    """A lead list with the usual mess: repeated people (merged), rows with no usable contact
    (quarantined) and blank rows. Returns the number of data rows. ``prefix`` and ``offset``
    make a list of other people (their addresses and phones differ from the default list's)."""
    rng = random.Random(seed)
    header = ["First name", "Last name", "E-mail", "Phone", "Company", "City"]
    cities = ["Moscow", "Kazan", "Yekaterinburg", "Novosibirsk", "Berlin"]
    data: list[list[str]] = []
    for n in range(rows):
        i = n + offset
        kind = rng.random()
        if kind < 0.08 and n > 10:  # the same person again, met twice at the stand
            data.append(list(data[rng.randrange(len(data))]))
        elif kind < 0.13:  # nothing to reach them by
            data.append([f"Anon{i}", "Nobody", "not-an-address", "", f"Co {i}", "Moscow"])
        elif kind < 0.15:
            data.append(["", "", "", "", "", ""])
        else:
            data.append(
                [
                    f"Name{i}",
                    f"Surname{i}",
                    f"{prefix}{i}@chaos.example",
                    f"+7 900 {i // 10000 % 1000:03d}-{i % 10000:04d}",
                    f"Company {i % 97}",
                    rng.choice(cities),
                ]
            )
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(data)
    return rows


@dataclass(frozen=True)
class Target:
    name: str
    #: CLI arguments after ``nurture``; ``files`` is the trial's folder of inputs.
    args: Callable[[Path], list[str]]
    fingerprint: Callable[[str], Fingerprint]
    #: Problems of a rerun's fingerprint against the clean run's (empty: all held).
    check: Callable[[Fingerprint, Fingerprint, int], list[str]]
    #: Whether the command talks to the SMTP server the driver runs.
    smtp: bool = False


# -- intake ----------------------------------------------------------------------------------


def intake_fingerprint(url: str) -> Fingerprint:
    return {
        "leads": _rows(
            url,
            "SELECT email, phone, first_name, last_name, company, merged_into_id IS NULL "
            "FROM leads",
        ),
        "sources": _rows(
            url,
            "SELECT s.row_number, s.outcome, l.email FROM lead_sources s "
            "JOIN leads l ON l.id = s.lead_id",
        ),
        "quarantine": _rows(url, "SELECT row_number, reasons FROM quarantine"),
        "batches": _rows(
            url,
            "SELECT file_name, status, rows, blank, created, merged, quarantined, "
            "possible_duplicates FROM import_batches",
        ),
        "merges": _rows(url, "SELECT count(*) FROM lead_merges"),
        "possible_duplicates": _rows(url, "SELECT count(*) FROM possible_duplicates"),
    }


def intake_check(clean: Fingerprint, got: Fingerprint, input_rows: int) -> list[str]:
    problems = []
    batches = list(got["batches"].elements())
    if len(batches) != 1:
        problems.append(f"{len(batches)} import batches, expected 1")
    for b in batches:
        status, (blank, created, merged, quarantined) = b[1], map(int, b[3:7])
        if status != "done":
            problems.append(f"batch left {status}")
        if blank + created + merged + quarantined != input_rows:
            problems.append(
                f"rows not conserved: {blank} blank + {created} created + {merged} merged + "
                f"{quarantined} quarantined != {input_rows} input rows"
            )
        if sum(got["sources"].values()) != created + merged:
            problems.append(f"{sum(got['sources'].values())} source rows for {created + merged}")
        if sum(got["quarantine"].values()) != quarantined:
            problems.append(f"{sum(got['quarantine'].values())} quarantine rows for {quarantined}")
    doubled = [k for k, n in got["sources"].items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} input rows linked twice, e.g. {doubled[0]}")
    return problems + _differences(clean, got)


# -- the nurture cycle -----------------------------------------------------------------------


def cycle_fingerprint(url: str) -> Fingerprint:
    return {
        "enrollments": _rows(
            url,
            "SELECT e.lead_id, c.slug, e.cycle, e.status, e.next_position, e.next_due_at "
            "FROM enrollments e JOIN campaigns c ON c.id = e.campaign_id",
        ),
        "touches": _rows(
            url,
            "SELECT t.lead_id, c.slug, t.position, t.channel, t.due_at, t.scheduled_at, "
            "t.status, t.outbox_id IS NULL, t.task_id IS NULL "
            "FROM touches t JOIN campaigns c ON c.id = t.campaign_id",
        ),
        "outbox": _rows(url, "SELECT dedupe_key, to_addr, template, status FROM outbox"),
        "tasks": _rows(url, "SELECT source_key, lead_id, manager_id, kind, status FROM tasks"),
        "events": _rows(url, "SELECT type, lead_id FROM event_log"),
        "assignments": _rows(url, "SELECT lead_id, manager_id FROM assignments"),
    }


def cycle_check(clean: Fingerprint, got: Fingerprint, _rows_in: int) -> list[str]:
    problems = []
    per_step = Counter((k[0], k[1], k[2]) for k in got["touches"].elements())
    doubled = [k for k, n in per_step.items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} touches planned twice, e.g. {doubled[0]}")
    return problems + _differences(clean, got)


# -- escalations -----------------------------------------------------------------------------


def add_overdue_tasks(url: str, count: int) -> int:
    """``count`` open tasks with a hard deadline, due from 2 days to 1 hour before the
    escalation run, on leads that have an owner: the default chain tells the supervisor at
    the deadline and escalates further a day later."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            leads = conn.execute(
                text("SELECT id, owner_id FROM leads WHERE owner_id IS NOT NULL ORDER BY id")
            ).all()
            rows = []
            for i in range(count):
                lead_id, owner = leads[i % len(leads)]
                due = ESCALATE_NOW - timedelta(hours=1 + (i * 47) % 48)
                rows.append(
                    {
                        "k": f"chaos.{i}",
                        "l": lead_id,
                        "m": owner,
                        "d": due,
                        "c": ESCALATE_NOW - timedelta(days=5),
                    }
                )
            conn.execute(
                text(
                    "INSERT INTO tasks (source_key, lead_id, manager_id, kind, title, due_at, "
                    "deadline, status, created_at, escalation_level) VALUES "
                    "(:k, :l, :m, 'call', 'Call the client', :d, 'hard', 'open', :c, 0)"
                ),
                rows,
            )
        return count
    finally:
        engine.dispose()


def escalation_fingerprint(url: str) -> Fingerprint:
    return {
        "escalations": _rows(
            url,
            "SELECT t.source_key, e.level, e.action, e.recipient, e.to_manager_id "
            "FROM escalations e JOIN tasks t ON t.id = e.task_id",
        ),
        "tasks": _rows(
            url,
            "SELECT source_key, manager_id, status, escalation_level, escalated_to, "
            "overdue_at IS NULL, escalate_at FROM tasks",
        ),
        "events": _rows(
            url,
            "SELECT e.type, e.lead_id, t.source_key, e.level FROM event_log e "
            "LEFT JOIN tasks t ON t.id = e.task_id",
        ),
        "outbox": _rows(url, "SELECT dedupe_key, kind, to_addr FROM outbox"),
    }


def escalation_check(clean: Fingerprint, got: Fingerprint, _rows_in: int) -> list[str]:
    problems = []
    fired = Counter((k[0], k[1]) for k in got["escalations"].elements())
    twice = [k for k, n in fired.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} escalation levels fired twice, e.g. {twice[0]}")
    told = Counter((k[2], k[3]) for k in got["events"].elements() if k[0] == "task.escalated")
    twice = [k for k, n in told.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} task.escalated events twice, e.g. {twice[0]}")
    if not fired:
        problems.append("nothing escalated: the target did not exercise escalations")
    return problems + _differences(clean, got)


# -- sending ---------------------------------------------------------------------------------


def send_fingerprint(url: str) -> Fingerprint:
    return {"outbox": _rows(url, "SELECT message_id, status FROM outbox")}


def send_check(
    clean: Fingerprint, got: Fingerprint, arrivals: Counter[str], kills: int, connections: int
) -> tuple[list[str], int]:
    """Problems, and the number of ``unknown`` messages (the documented ambiguous window:
    cut after DATA; counted, never re-sent)."""
    problems = []
    status = {mid: st for mid, st in got["outbox"]}
    expected = {mid for mid, _ in clean["outbox"]}
    if set(status) != expected:
        problems.append(f"outbox rows differ: {len(set(status) ^ expected)} rows")
    states = Counter(status.values())
    if set(states) - {"sent", "unknown"}:
        problems.append(f"rows left {dict(states)}")
    doubled = [m for m, n in arrivals.items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} messages arrived twice, e.g. {doubled[0]}")
    lost = [m for m, st in status.items() if st == "sent" and arrivals[m] != 1]
    if lost:
        problems.append(f"{len(lost)} messages marked sent that never arrived, e.g. {lost[0]}")
    unknown = states["unknown"]
    if unknown > kills * connections:
        problems.append(f"{unknown} unknown, more than one in flight per connection")
    return problems, unknown


def _differences(clean: Fingerprint, got: Fingerprint) -> list[str]:
    problems = []
    for part, rows in clean.items():
        other = got.get(part, Counter())
        if rows != other:
            missing, extra = rows - other, other - rows
            sample = next(iter(missing or extra))
            problems.append(
                f"{part}: {sum(missing.values())} missing, {sum(extra.values())} extra vs a "
                f"clean run, e.g. {'missing' if missing else 'extra'} {sample}"
            )
    return problems


#: Besides the exhibition's list, the setup imports people met at these events, so the cycle
#: enrols and plans in three campaigns (examples/campaigns/) in one transaction.
OTHER_EVENTS = (("seminar", "Chaos Seminar"), ("webinar", "Chaos Webinar"))


def write_other_lists(files: Path, rows: int, seed: int) -> list[list[str]]:
    """A list of other people per :data:`OTHER_EVENTS` (a third of ``rows`` each, at least
    10); returns the ``nurture import`` arguments of each."""
    imports = []
    for k, (kind, event) in enumerate(OTHER_EVENTS, start=1):
        path = files / f"{kind}.csv"
        write_leads_csv(path, max(10, rows // 3), seed + k, prefix=kind, offset=k * 100_000)
        imports.append(
            [
                "import",
                str(path),
                "--event",
                event,
                "--kind",
                kind,
                "--date",
                EVENT_DATE,
                "--now",
                IMPORT_NOW,
            ]
        )
    return imports


def import_args(files: Path) -> list[str]:
    """``nurture import`` of the trial's lead list (the setup's import and the intake target)."""
    return [
        "import",
        str(files / "leads.csv"),
        "--event",
        "Chaos Expo",
        "--kind",
        "exhibition",
        "--date",
        EVENT_DATE,
        "--now",
        IMPORT_NOW,
    ]


TARGETS: dict[str, Target] = {
    "intake": Target(
        "intake",
        lambda files: [*import_args(files), "--json"],
        intake_fingerprint,
        intake_check,
    ),
    "cycle": Target(
        "cycle", lambda _f: ["run", "--now", CYCLE_NOW, "--json"], cycle_fingerprint, cycle_check
    ),
    "escalations": Target(
        "escalations",
        lambda _f: ["escalate", "--now", ESCALATE_NOW.isoformat(), "--json"],
        escalation_fingerprint,
        escalation_check,
    ),
    "send": Target(
        "send",
        lambda _f: ["send", "--now", SEND_NOW, "--json"],
        send_fingerprint,
        lambda clean, got, _n: _differences(clean, got),
        smtp=True,
    ),
}

EXAMPLES = PROJECT_ROOT / "examples"
