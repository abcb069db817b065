"""``nurture purchases import FILE``: purchases and conversions from a CSV file.

Columns (header names, case-insensitive; ``;`` or ``,`` separated, UTF-8):

- ``lead_id`` or ``email`` (one of them): who bought;
- ``date``: ISO date or date-time (naive means UTC);
- ``amount``: a number (``1 234,50`` and ``1234.50`` both read);
- ``product`` (optional), ``quantity`` (optional, default 1), ``order_id`` (optional).

Idempotent: each row gets a ``source_key`` (``order:<order_id>`` or a hash of its values),
unique in the table, so importing the same file twice adds nothing. A bad row is reported
on one line naming file, row and column, and the rest of the file goes on. An imported
purchase marks an open lead ``converted`` and moves its ``last_activity_at`` forward; the
stop rules ``converted``/``purchased`` act on it at the next cycle.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.cadence.statements import affected, rowcount
from nurture.db.cadence import Purchase
from nurture.db.leads import Lead
from nurture.db.sql import dialect_insert
from nurture.errors import InputError


@dataclass
class PurchaseImport:
    file: str
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    leads_converted: int = 0


# what the columns hold: INTEGER ids and quantities (32-bit on PostgreSQL), a product name
_WHOLE = re.compile(r"^[0-9]{1,9}$")
MAX_PRODUCT = 200


def _whole(text: str) -> int | None:
    """A plain whole number a column can hold, or None."""
    return int(text) if _WHOLE.match(text) else None


def _parse_date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(text) from None


def _parse_amount(text: str) -> float:
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    amount = float(cleaned)
    if not math.isfinite(amount):
        raise ValueError(text)
    return amount


def read_rows(path: Path) -> list[dict[str, str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("not a UTF-8 text (CSV) file", file=str(path)) from exc
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        headers = [h.strip().lower() for h in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file: {exc}", file=str(path)) from None
    if not ({"lead_id", "email"} & set(headers)) or "date" not in headers:
        raise InputError(
            "needs columns lead_id or email, date and amount (optional: product, quantity, "
            "order_id)",
            file=str(path),
        )
    if "amount" not in headers:
        raise InputError("missing column", file=str(path), field="amount")
    return [
        {(k or "").strip().lower(): _cell(v) for k, v in row.items() if k is not None}
        for row in rows
    ]


def _cell(value: str | list[str] | None) -> str:
    """A cell's text (a row's surplus cells, which csv gives as a list, are dropped)."""
    return value.strip() if isinstance(value, str) else ""


def import_purchases(
    session: Session, path: Path, *, now: datetime | None = None
) -> PurchaseImport:
    """Import one purchases file (see module doc), recorded as taken in at ``now`` (default:
    the clock); never raises for a bad row."""
    taken_in = now or datetime.now(UTC)
    rows = read_rows(path)
    result = PurchaseImport(file=path.name, rows=len(rows))
    emails = {r["email"].lower() for r in rows if r.get("email")}
    ids = {n for r in rows if (n := _whole(r.get("lead_id", ""))) is not None}
    by_email: dict[str, int] = {}
    if emails:
        for lead_id, email, merged_into in session.execute(
            select(Lead.id, func.lower(Lead.email), Lead.merged_into_id)
            .where(func.lower(Lead.email).in_(emails))
            .order_by(Lead.merged_into_id.is_not(None), Lead.id)
        ):
            by_email.setdefault(email, merged_into or lead_id)
    known: dict[int, int] = {}
    if ids:
        for lead_id, merged_into in session.execute(
            select(Lead.id, Lead.merged_into_id).where(Lead.id.in_(ids))
        ):
            known[lead_id] = merged_into or lead_id
    records: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=2):  # header is row 1

        def reject(msg: str, column: str, row_no: int = number) -> None:
            result.rejected.append(
                InputError(msg, file=path.name, row=row_no, field=column).format_message()
            )

        lead: int | None = None
        if row.get("lead_id"):
            lead_id = _whole(row["lead_id"])
            if lead_id is None:
                reject(f"{row['lead_id']!r} is not a lead id", "lead_id")
                continue
            lead = known.get(lead_id)
            if lead is None:
                reject(f"no lead #{row['lead_id']}", "lead_id")
                continue
        elif row.get("email"):
            lead = by_email.get(row["email"].lower())
            if lead is None:
                reject(f"no lead with e-mail {row['email']!r}", "email")
                continue
        else:
            reject("give lead_id or email", "email")
            continue
        try:
            when = _parse_date(row.get("date", ""))
        except ValueError:
            reject(f"{row.get('date', '')!r} is not a date (use 2026-01-31)", "date")
            continue
        try:
            amount = _parse_amount(row.get("amount", ""))
        except ValueError:
            reject(f"{row.get('amount', '')!r} is not an amount", "amount")
            continue
        quantity = 1
        if row.get("quantity"):
            whole = _whole(row["quantity"])
            if whole is None:
                reject(f"{row['quantity']!r} is not a quantity", "quantity")
                continue
            quantity = whole
        product = row.get("product") or None
        if product is not None and len(product) > MAX_PRODUCT:
            reject(f"a product name of at most {MAX_PRODUCT} characters", "product")
            continue
        if row.get("order_id"):
            key = f"order:{row['order_id']}"
        else:
            who = row.get("lead_id") or row.get("email", "").lower()
            digest = hashlib.sha256(
                f"{who}|{when.isoformat()}|{amount:.2f}|{product}|{quantity}".encode()
            ).hexdigest()[:32]
            key = f"row:{digest}"
        records.append(
            {
                "source_key": key[:300],
                "lead_id": lead,
                "purchased_at": when,
                "amount": amount,
                "quantity": quantity,
                "product": product,
                "created_at": taken_in,
            }
        )
    for i in range(0, len(records), 1000):
        chunk = records[i : i + 1000]
        stmt = dialect_insert(session, Purchase).on_conflict_do_nothing()
        result.imported += affected(session, stmt.values(chunk))
    result.duplicates = len(records) - result.imported
    result.leads_converted = apply_purchases(session)
    return result


def apply_purchases(session: Session) -> int:
    """Leads with purchases: open ones become ``converted``; ``last_activity_at`` moves to
    their latest purchase when that is later. Returns leads newly converted."""
    latest = (
        select(func.max(Purchase.purchased_at)).where(Purchase.lead_id == Lead.id).scalar_subquery()
    )
    has_purchase = Lead.id.in_(select(Purchase.lead_id))
    res = session.execute(
        update(Lead)
        .where(has_purchase, Lead.status == "open")
        .values(status="converted")
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    session.execute(
        update(Lead)
        .where(
            has_purchase,
            (Lead.last_activity_at.is_(None)) | (Lead.last_activity_at < latest),
        )
        .values(last_activity_at=latest)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    return rowcount(res)
