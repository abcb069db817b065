"""Sales playbooks and the manager's side of the loop.

Tasks (one model for all human work: cadence calls and reminders, first contacts, follow-ups,
re-engagements, playbook actions) are listed, completed with an outcome, rescheduled and
reassigned; leads replied, converted, lost or closed; a lead's whole story told. Deals run a
playbook's stages: actions with business-time deadlines, reminders and escalation chains,
branching on outcomes and fields, automated steps, documents with approvals, requests to
other systems. Everything works inside the caller's transaction (except the runners of steps
and requests, which call other systems), takes ``now`` and an ``actor``, validates the ids it
is given, appends to the event log and returns plain data. See docs/playbooks.md.
"""

from nurture.playbooks.calendar import BusinessCalendar, Duration
from nurture.playbooks.deals import advance_deal, get_deal, open_deal
from nurture.playbooks.dealview import list_deals, show_deal
from nurture.playbooks.documents import (
    decide,
    document_by_token,
    render_document,
    send_document,
)
from nurture.playbooks.errors import ConflictError, UnknownRecordError
from nurture.playbooks.escalation import EscalationSummary, run_escalations
from nurture.playbooks.events import EVENT_TYPES, SYSTEM
from nurture.playbooks.lifecycle import (
    LeadChange,
    add_note,
    close_lead,
    convert_lead,
    lose_lead,
    record_reply,
    settle_lead,
)
from nurture.playbooks.outbound import deliver_due, list_requests, retry_request
from nurture.playbooks.outcomes import OutcomeField, parse_pairs
from nurture.playbooks.people import load_roles
from nurture.playbooks.runner import run_all
from nurture.playbooks.spec import PlaybookSpec
from nurture.playbooks.steps import run_due_steps
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
from nurture.playbooks.validation import PlaybookError, parse_playbook, read_playbook
from nurture.playbooks.versions import latest_version, save_version

__all__ = [
    "EVENT_TYPES",
    "SYSTEM",
    "BusinessCalendar",
    "ConflictError",
    "Duration",
    "EscalationSummary",
    "LeadChange",
    "OutcomeField",
    "PlaybookError",
    "PlaybookSpec",
    "TaskView",
    "UnknownRecordError",
    "add_note",
    "advance_deal",
    "cancel_open_tasks",
    "close_lead",
    "complete_task",
    "convert_lead",
    "decide",
    "deliver_due",
    "document_by_token",
    "get_deal",
    "get_task",
    "latest_version",
    "lead_story",
    "list_deals",
    "list_requests",
    "list_tasks",
    "load_roles",
    "lose_lead",
    "open_deal",
    "parse_pairs",
    "parse_playbook",
    "read_playbook",
    "reassign_task",
    "record_reply",
    "render_document",
    "reschedule_task",
    "retry_request",
    "run_all",
    "run_due_steps",
    "run_escalations",
    "save_version",
    "send_document",
    "settle_lead",
    "show_deal",
]
