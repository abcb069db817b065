"""Settings that guard production: the default signing key."""

from __future__ import annotations

import pytest

from nurture.config import DEFAULT_SECRET_KEY, Settings, secret_key_warning
from nurture.errors import ConfigError


def test_the_default_key_is_refused_in_production_and_warned_about_elsewhere() -> None:
    with pytest.raises(ConfigError, match="refuses to start in production") as exc:
        secret_key_warning("nurture send", Settings(env="production"))
    assert exc.value.exit_code == 2
    warning = secret_key_warning("nurture serve", Settings(env="development"))
    assert warning is not None and "NURTURE_SECRET_KEY" in warning
    assert Settings().secret_key == DEFAULT_SECRET_KEY


def test_a_set_key_passes_everywhere() -> None:
    for env in ("development", "production"):
        assert secret_key_warning("nurture send", Settings(env=env, secret_key="x" * 40)) is None
