"""One campaign's failure stays that campaign's.

A nurture cycle runs every campaign's stop rules, enrolment and planning in one
transaction. :class:`CampaignGuard` runs each campaign's share of each of those steps in a
savepoint. When it fails (a definition stored by an older version that no longer
validates, a statement the database refuses), what the campaign wrote in that step is
rolled back, nothing half-written stays, the campaign sits out the rest of the cycle, and
the failure is reported with one line of why (``CampaignGuard.failed``). The other
campaigns go on and are committed with the cycle; the next cycle tries the failed one
again.

A lost connection is not a campaign's failure: it ends the cycle as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from nurture.errors import NurtureError

if TYPE_CHECKING:
    from nurture.cadence.campaigns import CampaignSpec
    from nurture.db.cadence import Campaign

    Specs = list[tuple[Campaign, CampaignSpec]]

logger = logging.getLogger(__name__)

#: Longest reason kept for a failed campaign (one line in the cycle summary).
REASON_CHARS = 300


def describe(exc: BaseException) -> str:
    """One line saying why a campaign failed, without SQL or parameters (which could carry
    personal data into logs and Prefect artifacts)."""
    if isinstance(exc, NurtureError):
        text = exc.format_message()
    elif isinstance(exc, DBAPIError) and exc.orig is not None:
        text = f"the database refused it: {exc.orig}"
    elif isinstance(exc, RecursionError):
        text = "its conditions nest too deeply to be compiled"
    else:
        text = f"{type(exc).__name__}: {exc}"
    lines = text.strip().splitlines() or [type(exc).__name__]
    line = " ".join(lines[0].split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 3] + "..."


def _connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class CampaignGuard:
    """Runs each campaign's work in its own savepoint and collects the failures.

    ``isolate=False``: no savepoints, errors propagate (one campaign at a time, e.g. the
    benchmark or ``campaign enroll``).
    """

    def __init__(self, session: Session, *, isolate: bool = True) -> None:
        self.session = session
        self.isolate = isolate
        #: slug -> one line of why; the campaign is skipped for the rest of the run
        self.failed: dict[str, str] = {}

    def live(self, specs: Iterable[tuple[Campaign, CampaignSpec]]) -> Specs:
        """The ``(campaign, spec)`` pairs whose campaign has not failed in this run."""
        return [(c, spec) for c, spec in specs if spec.slug not in self.failed]

    def fail(self, slug: str, reason: str) -> None:
        """Record that ``slug`` failed (and is skipped from now on)."""
        self.failed.setdefault(slug, reason)

    @contextmanager
    def campaign(self, slug: str) -> Iterator[None]:
        """The block's writes are kept when it succeeds and rolled back, with the failure
        recorded, when it raises (the exception does not propagate)."""
        if not self.isolate:
            yield
            return
        savepoint = self.session.begin_nested()
        try:
            yield
        except Exception as exc:
            if _connection_lost(exc):
                raise
            if savepoint.is_active:
                savepoint.rollback()
            self.fail(slug, describe(exc))
            logger.debug("campaign %s rolled back", slug, exc_info=exc)
        else:
            savepoint.commit()
