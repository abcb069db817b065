"""Send-time slots of one planning run: the first moment inside a campaign's window, in a
lead's zone, for every UTC hour of the planning horizon.

Windows, zones, DST and holidays are decided in Python (:mod:`nurture.cadence.windows`),
once per (window, zone, country, hour) and not once per lead: a day's plan needs a few
hundred such rows, written to ``cadence_slots`` under the run's id and joined by the planner
to its staged rows. The frequency-cap interval around each slot is written beside it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from nurture.cadence.caps import Cap
from nurture.cadence.scratch import analyse_slots
from nurture.cadence.windows import Window, next_send_time, zone
from nurture.config import get_settings
from nurture.db.cadence import CadenceSlot

_INSERT_CHUNK = 5000


@dataclass
class SlotMap:
    """The send-time slots of one planning run (rows of ``cadence_slots`` under ``run_id``),
    written for each (window, zone, country) the first time a staged row needs it."""

    now: datetime
    horizon: datetime
    cap: Cap
    #: other planning runs (shards of a cycle) write slots at the same time: statistics
    #: are refreshed only when no other run holds them (see ``analyse_slots``)
    shared: bool = False
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    built: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, session: Session, window: Window, zones: Iterable[tuple[str, str]]) -> int:
        """Write the slots of ``window`` for the ``(zone, country)`` pairs not written yet:
        for each UTC hour of the horizon, the first send time at or after it inside the
        window in that zone (zoneinfo, holidays), and the cap interval around it."""
        settings = get_settings()
        todo = [z for z in zones if (window.key, *z) not in self.built]
        if not todo:
            return 0
        first_hour = int(self.now.timestamp()) // 3600
        last_hour = int(self.horizon.timestamp()) // 3600
        rows: list[dict[str, Any]] = []
        for tz_name, country in todo:
            self.built.add((window.key, tz_name, country))
            tz = zone(tz_name, settings.timezone)
            for hour in range(first_hour, last_hour + 1):
                start = max(self.now, datetime.fromtimestamp(hour * 3600, UTC))
                at = next_send_time(start, tz, country, window)
                rows.append(
                    {
                        "run_id": self.run_id,
                        "window_key": window.key,
                        "tz": tz_name,
                        "country": country,
                        "hour": hour,
                        "scheduled_at": at,
                        "cap_from": at - self.cap.span,
                        "cap_to": at + self.cap.span,
                    }
                )
        for i in range(0, len(rows), _INSERT_CHUNK):
            session.execute(insert(CadenceSlot), rows[i : i + _INSERT_CHUNK])
        analyse_slots(session, shared=self.shared)
        return len(rows)

    def forget_since(self, built: set[tuple[str, str, str]]) -> None:
        """After a rollback to a savepoint: the slots written since ``built`` (a copy taken
        then) are gone from the table, so they must be written again when needed."""
        self.built = set(built)


def drop_slots(session: Session, run_id: str) -> None:
    """Delete the slots of a finished run."""
    session.execute(delete(CadenceSlot).where(CadenceSlot.run_id == run_id))
