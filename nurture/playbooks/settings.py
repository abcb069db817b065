"""Settings of the playbooks capability (``NURTURE_*`` environment variables), read the same
way as :mod:`nurture.config`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlaybookSettings(BaseSettings):
    """Where requests to other systems go, and how hard delivery tries."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    requests_webhook_url: str | None = Field(
        default=None,
        description="Where requests to other systems are POSTed (JSON; target in the body).",
    )
    requests_webhooks: dict[str, str] = Field(
        default_factory=dict,
        description='Per-target webhooks as JSON, e.g. {"finance": "https://..."}.',
    )
    requests_timeout: float = Field(default=10.0, gt=0, description="Seconds per delivery.")
    requests_max_attempts: int = Field(default=8, ge=1, description="Then a dead letter.")
    requests_backoff_seconds: float = Field(
        default=60.0, gt=0, description="First retry delay; doubled after each failure."
    )
    escalation_items_shown: int = Field(
        default=50, ge=1, description="Items listed in one digest (the rest are counted)."
    )

    def webhook_for(self, target: str) -> str | None:
        return self.requests_webhooks.get(target) or self.requests_webhook_url


@lru_cache(maxsize=1)
def get_playbook_settings() -> PlaybookSettings:
    """The process-wide playbook settings (clear the cache after changing the environment)."""
    return PlaybookSettings()
