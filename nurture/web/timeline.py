"""A lead's timeline as the cards show it: newest first, every time in the viewer's zone.

The entries come from :func:`nurture.playbooks.lead_story`, whose texts carry the times
they mention (a task's due time, where a task was rescheduled to) in UTC, as the database
and ``nurture leads show`` do. The card shows each entry's own time in the viewer's zone,
so the times inside the texts are rewritten to that zone too: one page, one clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

__all__ = ["LOCAL_FORMAT", "local_text", "timeline"]

#: How the cards write a moment (the headings of the timeline use it too).
LOCAL_FORMAT = "%d.%m.%Y %H:%M"

# An ISO-like moment with a time of day: "2026-12-09 19:03 UTC", "2026-12-09T19:03:00+00:00",
# "2026-12-09T19:03:00.123456Z". Without an offset it is UTC, as every stored time is.
_MOMENT = re.compile(
    r"(?P<day>\d{4}-\d{2}-\d{2})[T ](?P<clock>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2}| UTC)?"
)


def _local(match: re.Match[str], zone: tzinfo) -> str:
    offset = (match["zone"] or "").strip()
    if offset in ("", "Z", "UTC"):
        offset = "+00:00"
    elif ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    try:
        moment = datetime.fromisoformat(f"{match['day']}T{match['clock']}{offset}")
    except ValueError:
        return match[0]  # not a real moment (a month 13): leave the text as it is
    return moment.astimezone(zone).strftime(LOCAL_FORMAT)


def local_text(text: str, zone: tzinfo) -> str:
    """``text`` with every moment in it written in ``zone`` (:data:`LOCAL_FORMAT`)."""
    return _MOMENT.sub(lambda m: _local(m, zone), text)


def timeline(story: dict[str, Any], zone: tzinfo) -> list[dict[str, Any]]:
    """The story's entries newest first, each with ``local`` (its time in ``zone``) and its
    ``text`` in ``zone``'s clock."""
    out = []
    for entry in reversed(story["story"]):
        at = entry["at"]
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        out.append(
            {
                **entry,
                "local": at.astimezone(zone).strftime(LOCAL_FORMAT),
                "text": local_text(str(entry["text"]), zone),
            }
        )
    return out
