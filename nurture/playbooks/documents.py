"""Documents of a deal: a commercial proposal, a contract, an invoice request, meeting
notes. Rendered from Jinja2 templates under ``templates/documents/`` (``<name>.<lang>.html``
or ``<name>.html``) with the lead, the deal and its fields (a step's price and delivery
date), the deal's outcomes and the owner, to HTML and to PDF (WeasyPrint).

A document may need approvals by roles in order (``approvals: [supervisor,
head_of_sales]``): each role approves in turn, a rejection sends it back (render it again:
a new revision needs approving again), and only an approved document can be sent. Sending
e-mails the client a link to the PDF (``NURTURE_PUBLIC_URL/documents/<token>``, served by the
web app through :func:`document_by_token`). Every step is in the event log.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, TemplateNotFound
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.cadence import Task
from nurture.db.leads import TEMPLATE_FIELDS, Lead
from nurture.db.playbooks import Approval, Deal, Document, RoleMember
from nurture.db.team import Manager
from nurture.playbooks import events, people
from nurture.playbooks.errors import ConflictError, InputError, UnknownRecordError
from nurture.playbooks.spec import ActionSpec, DocumentSpec, PlaybookSpec, text_for
from nurture.playbooks.versions import spec_of


def _spec(session: Session, deal: Deal, key: str) -> DocumentSpec:
    spec = spec_of(session, deal.version_id)
    doc = spec.documents.get(key)
    if doc is None:
        known = ", ".join(spec.documents) or "none"
        raise InputError(f"playbook {deal.playbook} has no document {key!r} (documents: {known})")
    return doc


def render_context(session: Session, deal: Deal, doc: DocumentSpec, key: str) -> dict[str, Any]:
    """Everything a document template sees."""
    lead = session.get(Lead, deal.lead_id)
    owner = session.get(Manager, deal.owner_id) if deal.owner_id is not None else None
    outcome: dict[str, Any] = {}
    for values in session.scalars(
        select(Task.outcome_values)
        .where(Task.deal_id == deal.id, Task.status == "done")
        .order_by(Task.completed_at, Task.id)
    ):
        outcome.update(values or {})
    language = (lead.language if lead is not None else None) or "en"
    lead_data: dict[str, Any] = {"id": deal.lead_id}
    if lead is not None:
        lead_data.update({f: getattr(lead, f) for f in TEMPLATE_FIELDS})
        lead_data["full_name"] = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    settings = get_settings()
    return {
        "lead": lead_data,
        "deal": {
            "id": deal.id,
            "playbook": deal.playbook,
            "stage": deal.stage,
            "amount": deal.amount,
            "currency": deal.currency or "",
            "opened_at": deal.opened_at.date().isoformat(),
            **dict(deal.fields or {}),
        },
        "outcome": outcome,
        "owner": {"name": owner.name, "email": owner.email} if owner else None,
        "company": {"name": settings.sender_name, "email": settings.sender_email},
        "document": {"key": key, "title": text_for(doc.title, language)},
        "language": language,
    }


def _template_name(templates: Path, name: str, language: str) -> str:
    for candidate in (f"{name}.{language}.html", f"{name}.en.html", f"{name}.html"):
        if (templates / "documents" / candidate).is_file():
            return f"documents/{candidate}"
    raise InputError(f"no template templates/documents/{name}.html (or .{language}.html)")


def html_to_pdf(html: str, *, base: Path) -> bytes:
    """The PDF of an HTML document (WeasyPrint; fonts and images relative to ``base``)."""
    import weasyprint  # heavy: loaded only to render

    pdf: bytes = weasyprint.HTML(string=html, base_url=str(base)).write_pdf()
    return pdf


def render_document(
    session: Session, deal_id: int, key: str, *, now: datetime, actor: str
) -> Document:
    """Render (or render again) a deal's document to HTML and PDF. A document that needs
    approvals starts as ``draft``; one that needs none is ``approved`` at once."""
    from nurture.mail.templating import get_environment
    from nurture.playbooks.deals import get_deal

    deal = get_deal(session, deal_id)
    doc_spec = _spec(session, deal, key)
    templates = Path(get_settings().templates_dir)
    context = render_context(session, deal, doc_spec, key)
    name = _template_name(templates, doc_spec.template, context["language"])
    try:
        html = get_environment(templates).get_template(name).render(context)
    except TemplateNotFound as exc:
        raise InputError(f"{name}: includes a template that does not exist ({exc.name})") from None
    except TemplateError as exc:
        raise ConflictError(
            f"document {key!r} of deal {deal.id} cannot be rendered yet: {exc} "
            f"(template {name}; deal fields: {', '.join(sorted(deal.fields or {})) or 'none'})"
        ) from None
    pdf = html_to_pdf(html, base=templates / "documents")
    existing = session.scalars(
        select(Document).where(Document.deal_id == deal.id, Document.key == key)
    ).first()
    status = "draft" if doc_spec.approvals else "approved"
    if existing is None:
        existing = Document(
            deal_id=deal.id,
            lead_id=deal.lead_id,
            key=key,
            revision=1,
            public_token=secrets.token_urlsafe(24),
        )
        session.add(existing)
    else:
        existing.revision += 1
        existing.sent_at = None
        existing.sent_by = None
    existing.template = name
    existing.title = context["document"]["title"]
    existing.status = status
    existing.approvals_required = list(doc_spec.approvals)
    existing.html = html
    existing.pdf = pdf
    existing.sha256 = hashlib.sha256(pdf).hexdigest()
    existing.context = _jsonable(context)
    existing.rendered_at = now
    existing.rendered_by = actor
    session.flush()
    events.append(
        session,
        [
            events.event(
                "document.rendered",
                now,
                lead_id=deal.lead_id,
                deal_id=deal.id,
                actor=actor,
                document_id=existing.id,
                key=key,
                revision=existing.revision,
            )
        ],
    )
    return existing


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def render_for_action(
    session: Session,
    deal: Deal,
    spec: PlaybookSpec,
    action: ActionSpec,
    *,
    now: datetime,
    actor: str,
) -> None:
    """Render the documents an action needs when it is created (skipping those that cannot
    be rendered yet: the manager renders them with ``nurture doc render``)."""
    for key in action.documents:
        exists = session.scalars(
            select(Document.id).where(Document.deal_id == deal.id, Document.key == key)
        ).first()
        if exists is not None:
            continue
        try:
            with session.begin_nested():
                render_document(session, deal.id, key, now=now, actor=actor)
        except (ConflictError, InputError):
            continue


def get_document(session: Session, document_id: int) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise UnknownRecordError(f"no document with id {document_id}")
    return doc


def holds_role(session: Session, email: str, role: str, deal: Deal) -> bool:
    """Whether the person with ``email`` may act as ``role`` on this deal."""
    email = email.strip().lower()
    owner = session.get(Manager, deal.owner_id) if deal.owner_id is not None else None
    if role == "owner":
        return owner is not None and owner.email == email
    if role == "supervisor":
        sup = people.supervisor_of(session, owner)
        return sup is not None and sup.email == email
    return (
        session.scalars(
            select(RoleMember.id)
            .join(Manager, Manager.id == RoleMember.manager_id)
            .where(RoleMember.role == role, Manager.email == email)
        ).first()
        is not None
    )


def _decided(session: Session, doc: Document) -> int:
    return int(
        session.scalar(
            select(func.count(Approval.id)).where(
                Approval.document_id == doc.id,
                Approval.revision == doc.revision,
                Approval.decision == "approved",
            )
        )
        or 0
    )


def decide(
    session: Session,
    document_id: int,
    *,
    approve: bool,
    actor: str,
    now: datetime,
    comment: str | None = None,
) -> Document:
    """Approve or reject a document as the next role in its order (the actor must hold that
    role: the deal owner's supervisor, the owner, or a member of the role pool)."""
    from nurture.playbooks.deals import get_deal

    doc = get_document(session, document_id)
    if doc.status != "draft":
        raise ConflictError(
            f"document {doc.id} is {doc.status}: nothing to decide (render it again?)"
        )
    required = list(doc.approvals_required or [])
    position = _decided(session, doc)
    if position >= len(required):
        raise ConflictError(f"document {doc.id} needs no more approvals")
    role = required[position]
    deal = get_deal(session, doc.deal_id)
    if not holds_role(session, actor, role, deal):
        order = " -> ".join(required)
        raise ConflictError(
            f"document {doc.id} waits for approval {position + 1} of {len(required)} "
            f"({order}): {role}; {actor} is not the deal's {role}"
        )
    if not approve and not (comment or "").strip():
        raise InputError("a rejection needs a comment (what to change)", field="--comment")
    session.add(
        Approval(
            document_id=doc.id,
            revision=doc.revision,
            position=position,
            role=role,
            decision="approved" if approve else "rejected",
            actor=actor,
            comment=comment,
            at=now,
        )
    )
    if not approve:
        doc.status = "rejected"
    elif position + 1 == len(required):
        doc.status = "approved"
    session.flush()
    events.append(
        session,
        [
            events.event(
                "document.approved" if approve else "document.rejected",
                now,
                lead_id=doc.lead_id,
                deal_id=doc.deal_id,
                actor=actor,
                document_id=doc.id,
                revision=doc.revision,
                role=role,
                position=position,
                comment=comment,
            )
        ],
    )
    return doc


def send_document(session: Session, document_id: int, *, actor: str, now: datetime) -> Document:
    """E-mail the client a link to an approved document (once per revision)."""
    from nurture.playbooks.deals import get_deal
    from nurture.playbooks.notices import client_send_time, insert_outbox, outbox_row

    doc = get_document(session, document_id)
    deal = get_deal(session, doc.deal_id)
    spec = _spec(session, deal, doc.key)
    if not spec.send:
        raise ConflictError(f"document {doc.id} ({doc.key}) is internal: it is not sent")
    if doc.status == "sent":
        raise ConflictError(f"document {doc.id} revision {doc.revision} was sent already")
    if doc.status != "approved":
        required = list(doc.approvals_required or [])
        done = _decided(session, doc)
        waiting = required[done] if doc.status == "draft" and done < len(required) else None
        why = f"it waits for approval by the {waiting}" if waiting else f"it is {doc.status}"
        raise ConflictError(f"document {doc.id} cannot be sent: {why}")
    lead = session.get(Lead, doc.lead_id)
    if lead is None or not lead.email:
        raise ConflictError(f"lead {doc.lead_id} has no e-mail address to send the document to")
    if lead.do_not_contact or lead.unsubscribed_at is not None:
        raise ConflictError(f"lead {lead.id} asked not to be contacted by e-mail")
    url = f"{get_settings().public_url.rstrip('/')}/documents/{doc.public_token}"
    key = f"document.{doc.id}.{doc.revision}"
    row = outbox_row(
        key=key,
        kind="system",
        template="system/document",
        to_addr=lead.email,
        context={"document": {"title": doc.title, "url": url, "revision": doc.revision}},
        send_at=client_send_time(lead, now),
        now=now,
        lead_id=lead.id,
        manager_id=deal.owner_id,
    )
    insert_outbox(session, [row])
    doc.status = "sent"
    doc.sent_at = now
    doc.sent_by = actor
    session.flush()
    events.append(
        session,
        [
            events.event(
                "document.sent",
                now,
                lead_id=doc.lead_id,
                deal_id=doc.deal_id,
                actor=actor,
                document_id=doc.id,
                revision=doc.revision,
                to=lead.email,
            )
        ],
    )
    return doc


def document_by_token(session: Session, token: str) -> Document | None:
    """The document a client's link names (the web app serves its PDF)."""
    if not token or len(token) > 64:
        return None
    return session.scalars(select(Document).where(Document.public_token == token)).first()


def require_ready(session: Session, task: Task, action: ActionSpec | None) -> None:
    """An action that needs documents is done only when each is sent (client documents) or
    rendered and not rejected (internal ones)."""
    if action is None or not action.documents or task.deal_id is None:
        return
    deal = session.get(Deal, task.deal_id)
    if deal is None:
        return
    spec = spec_of(session, deal.version_id)
    docs = {d.key: d for d in session.scalars(select(Document).where(Document.deal_id == deal.id))}
    for key in action.documents:
        doc, wanted = docs.get(key), spec.documents[key]
        if doc is None:
            raise ConflictError(
                f"task {task.id} needs document {key!r}: `nurture doc render {deal.id} {key}`"
            )
        if wanted.send and doc.status != "sent":
            raise ConflictError(
                f"task {task.id} needs document {doc.id} ({key}) sent; it is {doc.status}"
            )
        if not wanted.send and doc.status == "rejected":
            raise ConflictError(f"task {task.id} needs document {doc.id} ({key}); it was rejected")


def document_view(session: Session, doc: Document) -> dict[str, Any]:
    approvals = [
        {
            "position": a.position,
            "role": a.role,
            "decision": a.decision,
            "actor": a.actor,
            "at": a.at,
            "comment": a.comment,
        }
        for a in session.scalars(
            select(Approval)
            .where(Approval.document_id == doc.id, Approval.revision == doc.revision)
            .order_by(Approval.position)
        )
    ]
    return {
        "id": doc.id,
        "deal_id": doc.deal_id,
        "key": doc.key,
        "title": doc.title,
        "revision": doc.revision,
        "status": doc.status,
        "approvals_required": list(doc.approvals_required or []),
        "approvals": approvals,
        "rendered_at": doc.rendered_at,
        "sent_at": doc.sent_at,
        "pdf_bytes": len(doc.pdf or b""),
        "sha256": doc.sha256,
    }
