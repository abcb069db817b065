"""Playbooks and the manager's side of the loop.

Tasks (one model for all human work: cadence calls and reminders, first contacts, follow-ups,
re-engagements, playbook actions) are listed, completed with an outcome, rescheduled and
reassigned; leads replied, converted, lost or closed; a lead's whole story told. Everything
works inside the caller's transaction, takes ``now`` and an ``actor``, validates the ids it
is given, appends to the event log and returns plain data. See docs/playbooks.md.
"""

from nurture.playbooks.errors import ConflictError, UnknownRecordError
from nurture.playbooks.events import EVENT_TYPES, SYSTEM
from nurture.playbooks.lifecycle import (
    LeadChange,
    close_lead,
    convert_lead,
    lose_lead,
    record_reply,
    settle_lead,
)
from nurture.playbooks.outcomes import OutcomeField, parse_pairs
from nurture.playbooks.story import lead_story
from nurture.playbooks.tasks import (
    TaskView,
    cancel_open_tasks,
    complete_task,
    get_task,
    list_tasks,
    reassign_task,
    reschedule_task,
)

__all__ = [
    "EVENT_TYPES",
    "SYSTEM",
    "ConflictError",
    "LeadChange",
    "OutcomeField",
    "TaskView",
    "UnknownRecordError",
    "cancel_open_tasks",
    "close_lead",
    "complete_task",
    "convert_lead",
    "get_task",
    "lead_story",
    "list_tasks",
    "lose_lead",
    "parse_pairs",
    "reassign_task",
    "record_reply",
    "reschedule_task",
    "settle_lead",
]
