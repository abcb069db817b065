"""The flows are thin wrappers over nurture.scoring.service (tested through the CLI); here
only that they import, keep the deployment names and parameters prefect.yaml relies on."""

from __future__ import annotations

import inspect

from nurture.flowfiles import load_flow_file


def test_flow_names_and_parameters() -> None:
    train = load_flow_file("train_scorer").train_scorer
    score = load_flow_file("score_leads").score_leads
    assert train.name == "train-scorer" and score.name == "score-leads"
    assert "as_of" in inspect.signature(train.fn).parameters
    assert inspect.signature(score.fn).parameters["batch_size"].default == 50000
