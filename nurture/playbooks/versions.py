"""Playbook versions: loading a file stores a new version when its text changed; a deal
keeps the version it started on, so editing a playbook never changes running deals."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db.playbooks import PlaybookVersion
from nurture.playbooks.errors import UnknownRecordError
from nurture.playbooks.spec import PlaybookSpec


def save_version(
    session: Session, spec: PlaybookSpec, text: str, *, file_name: str, now: datetime
) -> tuple[PlaybookVersion, bool]:
    """Store ``spec`` as the playbook's next version unless the same text is stored already;
    returns (version, created)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    same = session.scalars(
        select(PlaybookVersion).where(
            PlaybookVersion.name == spec.name, PlaybookVersion.sha256 == digest
        )
    ).first()
    if same is not None:
        return same, False
    last = session.scalar(
        select(func.max(PlaybookVersion.version)).where(PlaybookVersion.name == spec.name)
    )
    row = PlaybookVersion(
        name=spec.name,
        version=(last or 0) + 1,
        sha256=digest,
        file_name=file_name,
        definition=spec.model_dump(mode="json"),
        source=text,
        loaded_at=now,
    )
    session.add(row)
    session.flush()
    return row, True


def latest_version(session: Session, name: str) -> PlaybookVersion:
    found = session.scalars(
        select(PlaybookVersion)
        .where(PlaybookVersion.name == name)
        .order_by(PlaybookVersion.version.desc())
        .limit(1)
    ).first()
    if found is None:
        known = ", ".join(
            session.scalars(select(PlaybookVersion.name).distinct().order_by(PlaybookVersion.name))
        )
        raise UnknownRecordError(
            f"no playbook {name!r} (loaded: {known or 'none'}; `nurture playbook load FILE`)"
        )
    return found


def spec_of(session: Session, version_id: int) -> PlaybookSpec:
    """The validated spec of a stored version (parsed once per content)."""
    row = session.get(PlaybookVersion, version_id)
    if row is None:
        raise UnknownRecordError(f"no playbook version with id {version_id}")
    spec = _PARSED.get(row.sha256)
    if spec is None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        spec = _PARSED[row.sha256] = PlaybookSpec.model_validate(row.definition)
    return spec


#: Parsed specs by the digest of their text (a stored version never changes).
_PARSED: dict[str, PlaybookSpec] = {}


def all_versions(session: Session) -> list[PlaybookVersion]:
    return list(
        session.scalars(
            select(PlaybookVersion).order_by(PlaybookVersion.name, PlaybookVersion.version)
        )
    )


def latest_specs(session: Session) -> list[PlaybookSpec]:
    """The latest version of every loaded playbook, by name."""
    newest = (
        select(PlaybookVersion.name, func.max(PlaybookVersion.version).label("v"))
        .group_by(PlaybookVersion.name)
        .subquery()
    )
    ids = session.scalars(
        select(PlaybookVersion.id)
        .join(
            newest,
            (newest.c.name == PlaybookVersion.name) & (newest.c.v == PlaybookVersion.version),
        )
        .order_by(PlaybookVersion.name)
    ).all()
    return [spec_of(session, i) for i in ids]
