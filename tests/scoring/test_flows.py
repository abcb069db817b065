"""The flows are thin wrappers over nurture.scoring.service (tested through the CLI); here
only that they import, keep the deployment names and parameters prefect.yaml relies on."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, ROOT / "flows" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flow_names_and_parameters() -> None:
    train = _load("train_scorer").train_scorer  # type: ignore[attr-defined]
    score = _load("score_leads").score_leads  # type: ignore[attr-defined]
    assert train.name == "train-scorer" and score.name == "score-leads"
    assert "as_of" in inspect.signature(train.fn).parameters
    assert inspect.signature(score.fn).parameters["batch_size"].default == 50000
