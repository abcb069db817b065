"""Personal data: erase a person everywhere, give a person their data, and log who saw what.

The public face (the CLI, the web app, intake and mail import from here)::

    forget(email=... | lead_id=..., actor=..., now=...)   erase a person; -> ForgetReport
    export_person(session, find_person(session, email=...), now=...)   their data (GDPR 15)
    record_access(session, actor=..., action=..., via=..., lead_id=..., email=...)
    audit_entries(session, lead_id=..., email=...)
    quarantine_forgotten(conn, rows)     intake: forgotten people's rows are quarantined
    forgotten_addresses(session, addrs)  mail: forgotten addresses are never sent to
    cli_actor(by)                        who runs a command ($USER or --by)

Names load on first use, so intake and mail pay for nothing they do not call. How it all
works, what is erased and what is kept: ``docs/privacy.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nurture.privacy.audit import audit_entries, cli_actor, record_access
    from nurture.privacy.export import export_person
    from nurture.privacy.forgotten import (
        FORGOTTEN_REASON,
        forgotten_addresses,
        quarantine_forgotten,
    )
    from nurture.privacy.person import Person, find_person
    from nurture.privacy.service import ForgetReport, forget

__all__ = [
    "FORGOTTEN_REASON",
    "ForgetReport",
    "Person",
    "audit_entries",
    "cli_actor",
    "export_person",
    "find_person",
    "forget",
    "forgotten_addresses",
    "quarantine_forgotten",
    "record_access",
]

_HOME = {
    "FORGOTTEN_REASON": "forgotten",
    "ForgetReport": "service",
    "Person": "person",
    "audit_entries": "audit",
    "cli_actor": "audit",
    "export_person": "export",
    "find_person": "person",
    "forget": "service",
    "forgotten_addresses": "forgotten",
    "quarantine_forgotten": "forgotten",
    "record_access": "audit",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'nurture.privacy' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nurture.privacy.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
