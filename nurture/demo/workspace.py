"""The demo's workspace: one folder holding everything a run writes.

``prepare`` empties the folder (only that folder), points Nurture's settings at it (database
``nurture.db``, file outbox ``outbox/``, Prefect's home ``.prefect/``), creates the schema
and loads the examples: team, playbook role pools, playbooks, campaigns and purchases. The
event files and their ``.event.yaml`` sidecars are copied into ``inbox/`` for the intake
flow to take in, as a badge scanner's export would arrive in production.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nurture.config import data_dir
from nurture.errors import InputError

#: Web accounts of the demo database (a development workspace only: the password is printed).
ACCOUNTS = (
    ("anna.smirnova@example.ru", "supervisor", "ru"),
    ("olga.petrova@example.ru", "manager", "ru"),
    ("emily.clark@example.com", "manager", "en"),
    ("marketing@example.com", "marketing", "en"),
)
PASSWORD = "nurture-demo"
#: A file in the workspace that says it is one (so ``prepare`` never empties another folder).
MARKER = ".nurture-demo"


@dataclass(frozen=True)
class Workspace:
    """Where a demo run keeps its database, outbox, inbox, report and exports."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "nurture.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def leads_export(self) -> Path:
        return self.root / "leads-export.csv"

    @property
    def cdnow_predictions(self) -> Path:
        return self.root / "cdnow-predictions.csv"

    @property
    def prefect_home(self) -> Path:
        return self.root / ".prefect"

    def environment(self) -> dict[str, str]:
        """The settings a demo process runs with: everything it writes stays in ``root``."""
        return {
            "NURTURE_DATABASE_URL": self.database_url,
            "NURTURE_OUTBOX_DIR": str(self.outbox),
            "NURTURE_SMTP_URL": "",
            "PREFECT_HOME": str(self.prefect_home),
        }


def reset(root: Path) -> Workspace:
    """Empty ``root`` (a demo workspace or a new folder) and create its folders."""
    root = root.resolve()
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise InputError(
            "is not empty and not a demo workspace: choose another folder", file=str(root)
        )
    shutil.rmtree(root, ignore_errors=True)
    space = Workspace(root)
    for folder in (root, space.outbox, space.inbox, space.prefect_home):
        folder.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `make demo`; emptied by the next run\n", encoding="utf-8")
    return space


def use(space: Workspace) -> None:
    """Point this process's settings at ``space`` (before any database or Prefect use)."""
    from nurture.config import get_settings

    os.environ.update(space.environment())
    os.environ.pop("NURTURE_SMTP_URL", None)  # an empty URL would mean "unset" anyway
    get_settings.cache_clear()


def load_examples(space: Workspace, *, now: datetime) -> dict[str, Any]:
    """Schema, team, role pools, playbooks, campaigns and purchases from ``examples/``;
    the event files into the inbox. Returns what was loaded."""
    import yaml

    from nurture.cadence import read_campaign_file, save_campaign
    from nurture.cadence.purchases import import_purchases
    from nurture.db.session import init_db, session_scope
    from nurture.playbooks.people import load_roles, parse_roles
    from nurture.playbooks.validation import read_playbook
    from nurture.playbooks.versions import save_version
    from nurture.routing import apply_team_file, load_team_file
    from nurture.web.accounts import add_user

    examples = data_dir("examples")
    templates = data_dir("templates")
    init_db()
    loaded: dict[str, Any] = {}
    with session_scope() as session:
        team = apply_team_file(session, load_team_file(examples / "team.yaml"))
        loaded["managers"] = team.managers
        roles_file = examples / "playbooks" / "roles" / "sales.yaml"
        roles = yaml.safe_load(roles_file.read_text(encoding="utf-8"))
        load_roles(session, parse_roles(roles, file=str(roles_file)))
        loaded["playbooks"] = []
        for path in sorted((examples / "playbooks").glob("*.yaml")):
            spec, text = read_playbook(path, templates_dir=templates)
            save_version(session, spec, text, file_name=path.name, now=now)
            loaded["playbooks"].append(spec.name)
        loaded["campaigns"] = []
        for path in sorted((examples / "campaigns").glob("*.yaml")):
            campaign = read_campaign_file(path)
            save_campaign(session, campaign)
            loaded["campaigns"].append(campaign.slug)
        loaded["purchases"] = import_purchases(
            session, examples / "purchases.csv", now=now
        ).imported
        for email, role, language in ACCOUNTS:
            add_user(session, email, role=role, password=PASSWORD, language=language)
        loaded["accounts"] = [email for email, _, _ in ACCOUNTS]
    loaded["event_files"] = []
    for path in sorted((examples / "events").iterdir()):
        shutil.copy2(path, space.inbox / path.name)
        if not path.name.endswith(".event.yaml"):
            loaded["event_files"].append(path.name)
    return loaded


#: The second exhibition of the demo, whose visitor list arrives while it runs.
VISITORS_EVENT = {"name": "Металлообработка-2026", "kind": "exhibition", "date": "2026-10-13"}
_NAMES = (  # (family name, given names) as a Russian badge prints them
    ("Смирнов", ("Алексей", "Сергей", "Андрей", "Павел")),
    ("Кузнецова", ("Мария", "Елена", "Ольга", "Наталья")),
    ("Попов", ("Дмитрий", "Игорь", "Михаил")),
    ("Соколова", ("Анна", "Ирина", "Татьяна")),
    ("Smith", ("John", "Peter")),
    ("Müller", ("Anna", "Jonas")),
)
_CITIES = (
    ("Москва", "Россия"),
    ("Санкт-Петербург", "Россия"),
    ("Екатеринбург", "Россия"),
    ("Новосибирск", "Россия"),
    ("Владивосток", "Россия"),
    ("Алматы", "Казахстан"),
    ("Berlin", "Germany"),
    ("London", "United Kingdom"),
)


def write_visitors(space: Workspace, *, visitors: int, seed: int) -> dict[str, Any]:
    """A generated visitor list of a second exhibition (a badge scanner's CSV with its
    sidecar) and the purchases some of those visitors made as customers years ago
    (``purchases.csv``, for the dormant re-engagement). Seeded: the same every run."""
    import csv

    rng = random.Random(seed)
    drop = space.root / "arriving"
    drop.mkdir(exist_ok=True)
    name = "metalloobrabotka-2026-visitors.csv"
    buyers: list[str] = []
    with (drop / name).open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["ФИО", "E-mail", "Телефон", "Компания", "Город", "Страна"])
        for i in range(visitors):
            email = f"visitor{i:04d}@metal{i % 40:02d}.example"
            city, country = rng.choice(_CITIES)
            out.writerow(
                [
                    _name(rng),
                    email if rng.random() > 0.03 else "",
                    f"+7 9{rng.randrange(10**8, 10**9)}",
                    f"Завод №{i % 40 + 1}",
                    city,
                    country,
                ]
            )
            if i < visitors // 10:
                buyers.append(email)
            if i % 25 == 7:  # the same visitor scanned twice at two stands
                out.writerow(["", email.upper(), "", f"Завод №{i % 40 + 1}", city, country])
    sidecar = "".join(f"{k}: {v}\n" for k, v in VISITORS_EVENT.items())
    (drop / f"{name}.event.yaml").write_text(sidecar, encoding="utf-8")
    with (drop / "purchases.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "date", "amount", "product", "quantity", "order_id"])
        for k, email in enumerate(buyers):
            for n in range(1 + k % 3):
                day = f"2025-{1 + (k + n * 4) % 12:02d}-{1 + (k * 7) % 27:02d}"
                amount = rng.randrange(20_000, 900_000, 1_000)
                out.writerow([email, day, amount, "Станок ЧПУ", 1, f"DEMO-{k:03d}-{n}"])
    return {"file": name, "visitors": visitors, "customers": len(buyers)}


def _name(rng: random.Random) -> str:
    family, given = rng.choice(_NAMES)
    return f"{family} {rng.choice(given)}"


def deliver_visitors(space: Workspace) -> list[str]:
    """Move the generated visitor list into the inbox (as a scanner's upload would)."""
    drop = space.root / "arriving"
    moved = []
    for path in sorted(drop.glob("*.csv*")):
        if path.name == "purchases.csv":
            continue
        path.rename(space.inbox / path.name)
        moved.append(path.name)
    return moved


def import_old_purchases(space: Workspace, *, now: datetime) -> int:
    """The generated visitors' past purchases (after their list is taken in at ``now``)."""
    from nurture.cadence.purchases import import_purchases
    from nurture.db.session import session_scope

    with session_scope() as session:
        path = space.root / "arriving" / "purchases.csv"
        return import_purchases(session, path, now=now).imported
