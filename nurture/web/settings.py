"""Settings of the web app (``NURTURE_WEB_*``), beside the project's :mod:`nurture.config`.

The signing key, the public URL and the database come from :func:`nurture.config.get_settings`;
these only tune sessions and sign-in throttling.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Every field maps to ``NURTURE_WEB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_WEB_", env_file=".env", extra="ignore")

    session_idle_minutes: int = Field(
        default=12 * 60, ge=1, description="A session ends after this long without a request."
    )
    session_max_hours: int = Field(
        default=7 * 24, ge=1, description="A session ends this long after sign-in, used or not."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins for one e-mail before it is locked out."
    )
    login_max_failures_per_address: int = Field(
        default=30, ge=1, description="Failed sign-ins from one client address before lock-out."
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Failures older than this no longer count."
    )
    max_upload_mb: int = Field(default=50, ge=1, description="Largest lead list to upload.")
    password_min_length: int = Field(
        default=6,
        ge=1,
        description="Shortest password an account may have (raise it where policy asks).",
    )
    # Argon2id cost (RFC 9106's second recommendation by default). Hashes made with other
    # values are re-hashed at the next sign-in.
    password_time_cost: int = Field(default=3, ge=1, description="Argon2 passes.")
    password_memory_kib: int = Field(default=65536, ge=8, description="Argon2 memory (KiB).")
    password_parallelism: int = Field(default=4, ge=1, description="Argon2 lanes.")


@lru_cache(maxsize=1)
def get_web_settings() -> WebSettings:
    """The process-wide web settings (clear the cache after changing the environment)."""
    return WebSettings()
