"""Settings read from ``NURTURE_*`` environment variables (and an optional ``.env``).

One ``Settings`` object per process, obtained through :func:`get_settings`; tests
override values with environment variables and call ``get_settings.cache_clear()``.

The folders Nurture ships beside its code (templates, models, examples) are found by
:func:`data_dir`, so the defaults work from a source checkout and from an installed wheel.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout (tests and benchmarks read its files); not there in an installed wheel.
PROJECT_ROOT = PACKAGE_DIR.parent
#: The folders shipped with the code; a wheel carries copies in ``nurture/_data/`` (setup.py).
DATA_DIRS = ("templates", "models", "examples")
DEFAULT_SECRET_KEY = "change-me-in-production"


def data_dir(name: str, *, package: Path = PACKAGE_DIR) -> Path:
    """Where the shipped folder ``name`` (``templates``, ``models`` or ``examples``) is.

    Looked up in this order: ``<package>/_data/<name>``, the copy an installed wheel carries;
    then ``<name>`` beside the package, in the source tree (a checkout or an editable
    install). ``NURTURE_TEMPLATES_DIR``, ``NURTURE_MODELS_DIR`` and ``NURTURE_EXAMPLES_DIR``
    override the result.
    """
    if name not in DATA_DIRS:
        raise ValueError(f"{name!r} is not one of the shipped folders {DATA_DIRS}")
    packaged = package / "_data" / name
    return packaged if packaged.is_dir() else package.parent / name


class Settings(BaseSettings):
    """Runtime configuration. Every field maps to ``NURTURE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    # repr=False: a PostgreSQL URL may carry its password
    database_url: str = Field(
        default="sqlite:///nurture.db",
        description="SQLAlchemy URL; the embedded default is a SQLite file.",
        repr=False,
    )
    outbox_dir: Path = Field(
        default=Path("outbox"),
        description="Where e-mails are written as .eml files when no SMTP server is set.",
    )
    # repr=False: the password, the key and the salt stay out of reprs (logs, tracebacks)
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:587?starttls=true; unset means the file outbox.",
        repr=False,
    )
    default_region: str = Field(default="RU", description="Region for phones without +code.")
    timezone: str = Field(default="Europe/Moscow", description="Default IANA zone for leads.")
    templates_dir: Path = Field(
        default_factory=lambda: data_dir("templates"),
        description="Jinja2 templates: email/, documents/, web/ (default: the shipped ones).",
    )
    models_dir: Path = Field(
        default_factory=lambda: data_dir("models"),
        description="Lead-scoring model versions (default: the shipped models/).",
    )
    examples_dir: Path = Field(
        default_factory=lambda: data_dir("examples"),
        description="Sample events, team, campaigns (default: the shipped examples/).",
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="production: refuse to serve or send with unsafe settings (default key).",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        description="Signs unsubscribe links, web sessions and feed URLs: set it.",
        repr=False,
    )
    privacy_salt: str | None = Field(
        default=None,
        description=(
            "Salt of the forgotten list's contact hashes (default: derived from "
            "NURTURE_SECRET_KEY; set it before rotating that key, see docs/privacy.md)."
        ),
        repr=False,
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL of the web app, used in unsubscribe links.",
    )
    sender_email: str = Field(default="hello@nurture.example")
    sender_name: str = Field(default="Nurture")
    message_id_domain: str = Field(
        default="nurture.local",
        description="Right-hand side of Message-IDs: <dedupe_key@domain>, stable across retries.",
    )
    unsubscribe_mailto: str = Field(default="unsubscribe@nurture.example")
    batch_size: int = Field(default=5000, ge=1, description="Rows per set-based batch.")
    import_commit_rows: int = Field(
        default=100_000,
        ge=1,
        description=(
            "Intake: input rows per transaction (whole chunks). A killed import redoes at most "
            "this many; other writers wait for the commit. SQLite rewrites every index page a "
            "commit touched, so fewer commits make a big import faster."
        ),
    )
    import_max_cell_chars: int = Field(
        default=32_768,
        ge=256,
        description=(
            "Intake: longest cell (characters) a lead list may hold; a row with a longer one "
            "is quarantined. Lines over four times this (at least 1 MiB) are never read whole."
        ),
    )
    import_max_xlsx_cells: int = Field(
        default=20_000_000,
        ge=1,
        description=(
            "Intake: largest XLSX sheet, in cells from its first to its last used row and "
            "column; a bigger one is refused before it is read (it would be held whole)."
        ),
    )
    import_max_xlsx_columns: int = Field(
        default=1_000, ge=1, description="Intake: widest XLSX sheet, in columns."
    )
    first_contact_hours: float = Field(
        default=4, gt=0, description="Routing: business hours a manager has for first contact."
    )
    routing_window_days: int = Field(
        default=28, ge=1, description="Routing: rolling window of the fairness report."
    )
    frequency_cap: int = Field(
        default=2, ge=1, description="Cadence: at most this many touches per lead per cap window."
    )
    frequency_cap_days: int = Field(default=7, ge=1, description="Cadence: cap window in days.")
    dkim_key_file: Path | None = Field(
        default=None, description="PEM private key; set it to DKIM-sign every e-mail."
    )
    dkim_selector: str = Field(default="nurture", description="DKIM selector (s=).")
    render_workers: int = Field(
        default=1,
        ge=0,
        description="Processes that claim, render and record e-mails for big sends (0: none).",
    )
    dkim_domain: str | None = Field(default=None, description="DKIM d=; default: sender's.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; clear the cache after changing the environment)."""
    return Settings()


def secret_key_warning(component: str, settings: Settings | None = None) -> str | None:
    """Whether ``component`` (``"nurture send"``, ``"nurture serve"``) may run with the
    configured signing key.

    With the default key anyone can forge unsubscribe links and sessions. In production
    (``NURTURE_ENV=production``) that is a :class:`~nurture.errors.ConfigError` (exit 2);
    elsewhere the returned line is for the caller to print loudly. ``None``: the key is set.
    """
    from nurture.errors import ConfigError

    settings = settings or get_settings()
    if settings.secret_key != DEFAULT_SECRET_KEY:
        return None
    if settings.env == "production":
        raise ConfigError(
            f"{component} refuses to start in production with the default NURTURE_SECRET_KEY: "
            "set it to a long random value (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    return (
        f"WARNING: {component} runs with the default NURTURE_SECRET_KEY: anyone can forge "
        "unsubscribe links and sessions. Set NURTURE_SECRET_KEY (NURTURE_ENV=production "
        "refuses to start without it)."
    )
