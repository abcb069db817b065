"""Bounces: delivery status notifications (RFC 3464 DSN messages) or a CSV, to suppressions.

A permanent failure (``Action: failed`` with a ``5.x.x`` status, or a CSV row whose
``status``/``code`` is 5xx or ``type`` is ``hard``) suppresses the address globally and marks
its leads ``email_status='undeliverable'``. Temporary ones (4.x.x, ``delayed``, ``soft``) are
counted and otherwise ignored: the sender's own retries handle them.
"""

from __future__ import annotations

import csv
import email
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from nurture.errors import InputError
from nurture.mail.suppression import add_suppressions, mark_undeliverable

__all__ = ["Bounce", "apply_bounces", "parse_dsn", "read_bounces"]


@dataclass(frozen=True)
class Bounce:
    email: str
    permanent: bool
    status: str
    source: str


def _addr(value: str) -> str:
    # "rfc822; user@example.com" -> user@example.com
    return value.split(";", 1)[-1].strip().strip("<>").lower()


def parse_dsn(data: bytes, *, source: str = "") -> list[Bounce]:
    """The per-recipient results of one DSN message (empty when it is not a DSN)."""
    msg = email.message_from_bytes(data, policy=policy.compat32)
    out: list[Bounce] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, Message):
                continue
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
            if not recipient:
                continue
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            permanent = action == "failed" and not status.startswith("4")
            if action in ("failed", "delayed"):
                out.append(Bounce(_addr(str(recipient)), permanent, status or action, source))
    return out


def _csv_bounces(path: Path) -> list[Bounce]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from exc
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "email" not in fields:
        raise InputError("no 'email' column in the header", file=str(path), row=1)
    out: list[Bounce] = []
    for number, raw in enumerate(reader, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        addr = row.get("email", "")
        if "@" not in addr:
            raise InputError(
                f"{addr!r} is not an e-mail address", file=str(path), row=number, field="email"
            )
        status = row.get("status") or row.get("code") or row.get("type") or "hard"
        permanent = status.lower() in ("hard", "permanent", "failed") or status.startswith("5")
        out.append(Bounce(addr.lower(), permanent, status, f"{path.name} row {number}"))
    return out


def read_bounces(path: Path) -> list[Bounce]:
    """Bounces from a CSV file, one DSN message (.eml), or a directory of them."""
    if path.is_dir():
        out: list[Bounce] = []
        for child in sorted(path.iterdir()):
            if child.is_file() and not child.name.startswith("."):
                out.extend(read_bounces(child))
        return out
    if path.suffix.lower() == ".csv":
        return _csv_bounces(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    return parse_dsn(data, source=path.name)


def apply_bounces(session: Session, bounces: list[Bounce], *, now: datetime) -> dict[str, Any]:
    """Suppress permanently failed addresses; returns counts for the report."""
    hard = sorted({b.email for b in bounces if b.permanent})
    detail = {b.email: f"{b.status} ({b.source})" for b in bounces if b.permanent}
    new = add_suppressions(
        session,
        [{"email": e, "scope": "*", "reason": "bounce", "detail": detail[e]} for e in hard],
        now=now,
    )
    leads = mark_undeliverable(session, hard)
    return {
        "bounces": len(bounces),
        "permanent": len(hard),
        "temporary": len({b.email for b in bounces if not b.permanent} - set(hard)),
        "new_suppressions": new,
        "leads_marked_undeliverable": leads,
    }
