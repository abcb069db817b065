"""Metrics on inputs small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from nurture.scoring.metrics import (
    MethodScores,
    buys_again_auc,
    decile_table,
    evaluate_methods,
    normalized_gini,
    spearman,
    top_share_capture,
    total_error,
)


def test_gini_perfect_reversed_and_by_hand() -> None:
    actual = np.array([0.0, 0.0, 10.0, 30.0])
    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    # Sorted by score desc: 30, 10, 0, 0 -> perfect order whatever the score scale.
    assert normalized_gini(actual, [1, 2, 3, 4]) == pytest.approx(1.0)
    assert normalized_gini(actual, [4, 3, 2, 1]) < 0
    # By hand: order by score = [10, 30, 0, 0]; cumulative shares 0.25, 1, 1, 1.
    # gini = (0.25 + 1 + 1 + 1) / 4 - 5 / 8 = 0.1875; best = (0.75+1+1+1)/4 - 5/8 = 0.3125
    assert normalized_gini(actual, [0, 0, 2, 1]) == pytest.approx(0.1875 / 0.3125)


def test_ties_are_averaged_not_broken_by_position() -> None:
    actual = np.array([0.0, 10.0])
    # A constant score knows nothing: Gini 0 whichever row comes first.
    assert normalized_gini(actual, [1, 1]) == pytest.approx(0.0)
    assert normalized_gini(actual[::-1], [1, 1]) == pytest.approx(0.0)


def test_top_share_capture() -> None:
    actual = np.array([50.0, 0, 0, 0, 0, 0, 0, 0, 0, 50.0])
    score = np.arange(10, 0, -1)  # row 0 ranked first
    assert top_share_capture(actual, score, 0.1) == pytest.approx(0.5)
    assert top_share_capture(actual, -score, 0.1) == pytest.approx(0.5)
    assert top_share_capture(actual, np.zeros(10), 0.1) == pytest.approx(0.1)  # ties: mean


def test_spearman_auc_total_error() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert buys_again_auc([0, 0, 5, 7], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    assert buys_again_auc([0, 5, 0, 7], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(0.75)
    assert total_error([10, 10], [11, 11]) == pytest.approx(0.1)
    assert np.isnan(total_error([0, 0], [1, 1]))


def test_decile_table_sums_and_order() -> None:
    actual = np.arange(100, dtype=float)
    table = decile_table(actual, actual)
    assert list(table["decile"]) == list(range(1, 11))
    assert table["customers"].sum() == 100
    assert table["actual_total"].sum() == pytest.approx(actual.sum())
    assert table["actual_mean"].iloc[0] == pytest.approx(np.mean(np.arange(90, 100)))
    assert table["lift"].is_monotonic_decreasing


def test_bootstrap_intervals_contain_point_and_paired_difference() -> None:
    rng = np.random.default_rng(1)
    actual = rng.gamma(0.3, 50, size=500)
    good = actual + rng.normal(0, 5, size=500)
    noise = rng.normal(0, 1, size=500)
    report = evaluate_methods(
        actual,
        {"model": MethodScores(score=good, value=good), "noise": MethodScores(score=noise)},
        reference="model",
        n_boot=50,
    )
    g = report["methods"]["model"]["normalized_gini"]
    assert g["low"] <= g["value"] <= g["high"]
    diff = report["versus"]["noise"]["normalized_gini"]
    assert diff["low"] > 0  # a noisy score is clearly worse
    assert "total_error" not in report["methods"]["noise"]
