"""Settings read from ``NURTURE_*`` environment variables (and an optional ``.env``).

One ``Settings`` object per process, obtained through :func:`get_settings`; tests
override values with environment variables and call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration. Every field maps to ``NURTURE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///nurture.db",
        description="SQLAlchemy URL; the embedded default is a SQLite file.",
    )
    outbox_dir: Path = Field(
        default=Path("outbox"),
        description="Where e-mails are written as .eml files when no SMTP server is set.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:587?starttls=true; unset means the file outbox.",
    )
    default_region: str = Field(default="RU", description="Region for phones without +code.")
    timezone: str = Field(default="Europe/Moscow", description="Default IANA zone for leads.")
    templates_dir: Path = Field(default=PROJECT_ROOT / "templates")
    models_dir: Path = Field(default=PROJECT_ROOT / "models")
    secret_key: str = Field(
        default="change-me-in-production",
        description="HMAC key for unsubscribe tokens.",
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
