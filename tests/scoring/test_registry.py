"""Published versions: skops round trip with trusted types, refusal of anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio

from nurture.errors import ModelError, NotFoundError
from nurture.scoring import registry
from nurture.scoring.card import render_card
from nurture.scoring.model import LeadValueModel

from .conftest import AS_OF, HORIZON


class Evil:
    """A type no lead-value artifact contains."""

    def __init__(self) -> None:
        self.payload = "rm -rf /"


@pytest.fixture(scope="module")
def fitted(synthetic: pd.DataFrame) -> LeadValueModel:
    return LeadValueModel(max_iter=20, horizon_days=HORIZON).fit(synthetic, AS_OF)


def test_round_trip_predicts_the_same(
    fitted: LeadValueModel, synthetic: pd.DataFrame, tmp_path: Path
) -> None:
    published = registry.publish(
        fitted, {"data": {"source": "synthetic"}}, tmp_path, version_name="v1"
    )
    assert registry.current_version(tmp_path) == "v1"
    loaded, info = registry.load(tmp_path)
    assert info.version == "v1"
    pd.testing.assert_frame_equal(
        loaded.predict(synthetic, AS_OF), fitted.predict(synthetic, AS_OF)
    )
    card = json.loads((published.path / "card.json").read_text())
    assert card["features"] == fitted.feature_names_
    assert card["parameters"]["horizon_days"] == HORIZON
    assert card["libraries"]["scikit-learn"] and card["libraries"]["skops"]
    readme = (published.path / "README.md").read_text()
    assert not list(published.path.glob("*.pkl"))
    for section in ("Intended use", "Limitations", "Currency", "Training data"):
        assert f"\n## {section}\n" in readme
    assert card["currency"].startswith("not stated") and len(card["limitations"]) >= 3
    assert "Nurture does not score a database with it" in card["intended_use"]


def test_versions_and_current_pointer(fitted: LeadValueModel, tmp_path: Path) -> None:
    registry.publish(fitted, {}, tmp_path, version_name="v1")
    registry.publish(fitted, {}, tmp_path, version_name="v2", make_current=False)
    assert registry.list_versions(tmp_path) == ["v1", "v2"]
    assert registry.current_version(tmp_path) == "v1"
    registry.set_current(tmp_path, "v2")
    assert registry.current_version(tmp_path) == "v2"
    with pytest.raises(ModelError, match="already exists"):
        registry.publish(fitted, {}, tmp_path, version_name="v2")
    with pytest.raises(NotFoundError):
        registry.set_current(tmp_path, "v9")


def test_untrusted_types_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    sio.dump({"model": Evil()}, path)
    with pytest.raises(ModelError, match="untrusted"):
        registry.load_artifact(path)


def test_not_a_model_and_missing_current(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"\x80\x04not a zip")
    with pytest.raises(ModelError, match="not a skops model"):
        registry.load_artifact(path)
    with pytest.raises(NotFoundError, match="score train"):
        registry.current_version(tmp_path / "none")


def test_committed_model_loads_with_trusted_types() -> None:
    """The version committed in models/ is a real, loadable artifact."""
    from nurture.config import PROJECT_ROOT

    root = PROJECT_ROOT / "models"
    if not (registry.model_root(root) / registry.CURRENT).is_file():
        pytest.skip("no committed model")
    model, info = registry.load(root)
    assert info.card["evaluation"]["customers"] == 23570
    assert model.horizon_days == 182
    # The card says what the model is for, where it fails, and in which money.
    assert info.card["currency"] == "USD"
    assert "CDNOW" in info.card["data"]["description"]
    assert any("1,250,000" in item for item in info.card["limitations"])
    readme = (info.path / "README.md").read_text(encoding="utf-8")
    assert readme == render_card(info.card)  # the committed Markdown is the JSON's rendering
