"""E-mail: render campaign and system mail, send it exactly once, honour unsubscribes.

The public face (flows, the CLI and the web app import from here)::

    send_due(limit, now=...)          send what is due; -> SendSummary
    Sender                            the same, with every knob (tests, the bench)
    outbox_status(session, settings, now=...)   messages per state, the server's state
    requeue(session, ids=..., status=..., now=...)
    add_suppressions, read_suppression_file, unsubscribe, recipient_of
    read_bounces, apply_bounces
    check_templates, preview, get_environment, get_sandboxed_environment
    message_token, read_token, InvalidTokenError, UnsubscribeToken
    SmtpConfig, mask_url

Names load on first use, so a render worker process that imports ``nurture.mail.*`` loads
templates, not the database layer or the SMTP client. How it all works: ``docs/mail.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nurture.mail.bounces import apply_bounces, read_bounces
    from nurture.mail.checking import check_templates
    from nurture.mail.outbox import requeue
    from nurture.mail.previewing import preview
    from nurture.mail.sender import Sender, clock_from, send_due
    from nurture.mail.smtp_url import SmtpConfig, mask_url
    from nurture.mail.status import OutboxStatus, outbox_status
    from nurture.mail.summary import SendSummary
    from nurture.mail.suppression import (
        GLOBAL,
        REASONS,
        add_suppressions,
        read_suppression_file,
        recipient_of,
        unsubscribe,
    )
    from nurture.mail.templating import get_environment, get_sandboxed_environment
    from nurture.mail.tokens import InvalidTokenError, UnsubscribeToken, message_token, read_token

__all__ = [
    "GLOBAL",
    "REASONS",
    "InvalidTokenError",
    "OutboxStatus",
    "SendSummary",
    "Sender",
    "SmtpConfig",
    "UnsubscribeToken",
    "add_suppressions",
    "apply_bounces",
    "check_templates",
    "clock_from",
    "get_environment",
    "get_sandboxed_environment",
    "mask_url",
    "message_token",
    "outbox_status",
    "preview",
    "read_bounces",
    "read_suppression_file",
    "read_token",
    "recipient_of",
    "requeue",
    "send_due",
    "unsubscribe",
]

_HOME = {
    "GLOBAL": "suppression",
    "REASONS": "suppression",
    "InvalidTokenError": "tokens",
    "OutboxStatus": "status",
    "SendSummary": "summary",
    "Sender": "sender",
    "SmtpConfig": "smtp_url",
    "UnsubscribeToken": "tokens",
    "add_suppressions": "suppression",
    "apply_bounces": "bounces",
    "check_templates": "checking",
    "clock_from": "sender",
    "get_environment": "templating",
    "get_sandboxed_environment": "templating",
    "mask_url": "smtp_url",
    "message_token": "tokens",
    "outbox_status": "status",
    "preview": "previewing",
    "read_bounces": "bounces",
    "read_suppression_file": "suppression",
    "read_token": "tokens",
    "recipient_of": "suppression",
    "requeue": "outbox",
    "send_due": "sender",
    "unsubscribe": "suppression",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'nurture.mail' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nurture.mail.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
