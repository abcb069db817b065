"""Database layer: typed tables, engines and sessions, migrations.

Importing this package registers every table on :data:`Base.metadata`.
"""

from nurture.db.base import Base, utcnow
from nurture.db.cadence import (
    Campaign,
    CampaignStep,
    Engagement,
    Enrollment,
    Purchase,
    Task,
    Touch,
)
from nurture.db.leads import (
    Event,
    ImportBatch,
    Lead,
    LeadMerge,
    LeadSource,
    PossibleDuplicate,
    QuarantineRow,
)
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.playbooks import (
    Approval,
    Deal,
    Document,
    Escalation,
    OutboundRequest,
    PlaybookVersion,
    ProcessEvent,
    RoleMember,
    StepRun,
)
from nurture.db.privacy import AuditEntry, ForgottenContact
from nurture.db.scoring import LeadScore
from nurture.db.session import get_engine, init_db, make_engine, session_scope
from nurture.db.team import Absence, Assignment, Manager, RoutingRule, Team
from nurture.db.web import ApiKey, ApiRequest, LoginFailure, WebSession, WebUser

__all__ = [
    "Absence",
    "ApiKey",
    "ApiRequest",
    "Approval",
    "Assignment",
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignStep",
    "Deal",
    "Document",
    "Engagement",
    "Enrollment",
    "Escalation",
    "Event",
    "ForgottenContact",
    "ImportBatch",
    "Lead",
    "LeadMerge",
    "LeadScore",
    "LeadSource",
    "LoginFailure",
    "Manager",
    "OutboundRequest",
    "OutboxMessage",
    "PlaybookVersion",
    "PossibleDuplicate",
    "ProcessEvent",
    "Purchase",
    "QuarantineRow",
    "RoleMember",
    "RoutingRule",
    "StepRun",
    "Suppression",
    "Task",
    "Team",
    "Touch",
    "WebSession",
    "WebUser",
    "get_engine",
    "init_db",
    "make_engine",
    "session_scope",
    "utcnow",
]
