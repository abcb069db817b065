"""``nurture template check``: render every e-mail template against sample contexts.

Each template under ``templates/email`` (except the base layouts) is rendered twice, with a
complete sample lead and with a sparse one (only an e-mail address), in the sandboxed
environment with ``StrictUndefined``; every problem is reported with file and line. A
template may need variables from the outbox row's ``context`` (digests list leads, for
instance): put sample values for them in ``_sample.json`` next to it.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from nurture.mail.rendering import render_block
from nurture.mail.templating import get_sandboxed_environment

__all__ = ["TemplateProblem", "check_templates", "sample_contexts"]


@dataclass(frozen=True)
class TemplateProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line else ''}: {self.message}"


def sample_contexts(campaign: str, language: str) -> list[dict[str, Any]]:
    """A complete and a sparse context, as the sender would build them (every field of
    :data:`~nurture.mail.claiming.CONTEXT_FIELDS`: sample values where known, else None)."""
    from nurture.mail.claiming import CONTEXT_FIELDS

    samples = {
        "id": 1,
        "email": "ivan.petrov@example.ru",
        "phone": "+79161234567",
        "first_name": "Иван" if language == "ru" else "John",
        "last_name": "Петров" if language == "ru" else "Smith",
        "middle_name": None,
        "full_name": "Иван Петров" if language == "ru" else "John Smith",
        "company": "ООО Ромашка" if language == "ru" else "Acme Ltd",
        "title": "CTO",
        "city": "Москва" if language == "ru" else "London",
        "country": "RU" if language == "ru" else "GB",
        "language": language,
        "timezone": "Europe/Moscow",
        "interest": "analytics",
        "segment": "enterprise",
        "owner_id": 1,
        "extra": {},
    }
    full = {name: None for name in CONTEXT_FIELDS} | samples
    sparse = {k: None for k in full} | {"id": 2, "email": "x@example.com", "full_name": ""}
    base = {
        "campaign": {"slug": campaign, "name": campaign.replace("-", " ").title()},
        "unsubscribe_url": "https://nurture.example/unsubscribe/TOKEN",
        "language": language,
    }
    return [
        base | {"lead": full, "manager": {"id": 1, "name": "Анна", "email": "anna@ex.ru"}},
        base | {"lead": sparse, "manager": None},
    ]


def _where(exc: BaseException, root: Path, default: str) -> tuple[str, int | None]:
    if isinstance(exc, TemplateSyntaxError):
        return (exc.filename or default), exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        try:
            Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        return frame.filename, frame.lineno
    return default, None


def check_templates(templates_dir: Path) -> tuple[int, list[TemplateProblem]]:
    """(number of templates checked, problems)."""
    root = Path(templates_dir).resolve()
    email_dir = root / "email"
    env = get_sandboxed_environment(root)
    problems: list[TemplateProblem] = []
    checked = 0
    files = sorted(p for p in email_dir.rglob("*") if p.suffix in (".html", ".txt"))
    for path in files:
        rel = path.relative_to(root).as_posix()
        if path.parent == email_dir:  # base layouts
            continue
        checked += 1
        shown = str(path)
        stem, _, lang = path.stem.rpartition(".")
        if not stem or lang not in ("ru", "en"):
            problems.append(
                TemplateProblem(shown, None, "name must be <step>.<ru|en>.html or .txt")
            )
            continue
        twin = path.with_suffix(".txt" if path.suffix == ".html" else ".html")
        if not twin.exists():
            problems.append(TemplateProblem(shown, None, f"missing its other part {twin.name}"))
        extra: dict[str, Any] = {}
        sample = path.parent / "_sample.json"
        if sample.exists():
            try:
                extra = json.loads(sample.read_text(encoding="utf-8"))
            except ValueError as exc:
                problems.append(TemplateProblem(str(sample), None, f"bad JSON: {exc}"))
        campaign = path.parent.relative_to(email_dir).as_posix()
        seen: set[str] = set()
        for context in sample_contexts(campaign, lang):
            context = context | extra
            try:
                template = env.get_template(rel)
                template.render(context)
                if not render_block(template, "subject", context):
                    raise ValueError("the subject block is missing or empty")
            except Exception as exc:  # every template error is reported, never raised
                file, line = _where(exc, root, shown)
                problem = TemplateProblem(file, line, f"{type(exc).__name__}: {exc}")
                if str(problem) not in seen:
                    seen.add(str(problem))
                    problems.append(problem)
                if isinstance(exc, TemplateSyntaxError):
                    break
    return checked, problems
