"""The estimator: time-based fitting, no leakage, calibrated total, baselines agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nurture.errors import ModelError
from nurture.scoring.data import split_at
from nurture.scoring.evaluation import evaluate
from nurture.scoring.model import LeadData, LeadValueModel, repeat_summary
from nurture.scoring.probabilistic import (
    BGNBDParams,
    bgnbd_expected,
    bgnbd_p_any,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_spend,
)

from .conftest import AS_OF, HORIZON

FAST = {"max_iter": 30, "horizon_days": HORIZON}


def test_fit_follows_sklearn_conventions(synthetic: pd.DataFrame) -> None:
    model = LeadValueModel(**FAST)
    assert model.fit(synthetic, AS_OF) is model
    assert model.train_cut_ == (AS_OF - pd.Timedelta(days=HORIZON)).date().isoformat()
    assert model.get_params()["max_iter"] == 30
    pred = model.predict(synthetic, AS_OF)
    seen = synthetic.loc[synthetic["date"] <= AS_OF, "customer_id"].unique()
    assert set(pred["customer_id"]) == set(seen)
    assert (pred["predicted_value"] >= 0).all()
    assert pred["p_purchase"].between(0, 1).all()


def test_rows_after_as_of_change_nothing(synthetic: pd.DataFrame) -> None:
    history = synthetic[synthetic["date"] <= AS_OF]
    full = LeadValueModel(**FAST).fit(synthetic, AS_OF).predict(synthetic, AS_OF)
    cut = LeadValueModel(**FAST).fit(history, AS_OF).predict(history, AS_OF)
    pd.testing.assert_frame_equal(full, cut)


def test_money_total_is_calibrated_to_the_probabilistic_total(synthetic: pd.DataFrame) -> None:
    model = LeadValueModel(**FAST).fit(synthetic, AS_OF)
    frame = model.features(synthetic, AS_OF)
    pred = model.predict_frame(frame)
    buyers = frame["frequency"] > 0
    assert pred.loc[buyers, "predicted_value"].sum() == pytest.approx(
        frame.loc[buyers, "bg_value"].sum(), rel=1e-6
    )
    raw = LeadValueModel(**FAST, calibration="none").fit(synthetic, AS_OF)
    assert raw.scale_ == 1.0 and model.scale_ != 1.0


def test_probability_mean_is_calibrated_to_bgnbd(synthetic: pd.DataFrame) -> None:
    model = LeadValueModel(**FAST).fit(synthetic, AS_OF)
    frame = model.features(synthetic, AS_OF)
    buyers = frame[frame["frequency"] > 0]
    freq, rec, age, _ = repeat_summary(buyers)
    params = BGNBDParams(**model.bgnbd_)
    target = bgnbd_p_any(params, HORIZON / 7, freq, rec, age).mean()
    assert model.predict_frame(buyers)["p_purchase"].mean() == pytest.approx(target, rel=1e-4)
    # A monotone shift: the order of the customers (and so the AUC) is unchanged.
    raw = LeadValueModel(**FAST, calibration="none").fit(synthetic, AS_OF)
    assert raw.p_shift_ == 0.0
    np.testing.assert_array_equal(
        np.argsort(model.predict_frame(buyers)["p_purchase"].to_numpy(), kind="stable"),
        np.argsort(raw.predict_frame(buyers)["p_purchase"].to_numpy(), kind="stable"),
    )


def test_p_any_matches_a_simulation() -> None:
    """P(any purchase) for a new customer (x=0, T=0) against simulated BG/NBD customers."""
    params = BGNBDParams(r=0.5, alpha=4.0, a=0.8, b=2.5)
    rng = np.random.default_rng(0)
    n, horizon = 200_000, 10.0
    lam = rng.gamma(params.r, 1 / params.alpha, size=n)
    # Alive at T=0 with certainty; dropout only after a purchase, so any purchase counts.
    bought = rng.poisson(lam * horizon) > 0
    zero = np.zeros(1)
    expected = bgnbd_p_any(params, horizon, zero, zero, zero)[0]
    assert bought.mean() == pytest.approx(expected, abs=0.005)


def test_too_little_history_is_a_model_error(synthetic: pd.DataFrame) -> None:
    with pytest.raises(ModelError, match="not enough history"):
        LeadValueModel(**FAST).fit(synthetic, "2022-01-15")


def test_leads_without_purchases_are_scored_from_attributes(synthetic: pd.DataFrame) -> None:
    ids = list(synthetic["customer_id"].unique()[:300]) + [f"new{i}" for i in range(200)]
    leads = pd.DataFrame(
        {
            "customer_id": ids,
            "created_at": pd.Timestamp("2022-01-01"),
            "segment": ["student" if i % 2 else "enterprise" for i in range(len(ids))],
        }
    )
    model = LeadValueModel(**FAST).fit(synthetic, AS_OF, LeadData(leads=leads))
    assert "segment" in model.feature_names_ and "segment" in model.categories_
    pred = model.predict(synthetic, AS_OF, LeadData(leads=leads)).set_index("customer_id")
    assert {"new0", "new199"} <= set(pred.index)
    assert np.isfinite(pred.loc["new0", "predicted_value"])


def test_own_bgnbd_matches_lifetimes(synthetic: pd.DataFrame) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    from nurture.scoring.features import history_features

    feats = history_features(synthetic, AS_OF)
    freq, rec, age, mon = repeat_summary(feats)
    ours = fit_bgnbd(freq, rec, age)
    ref = lifetimes.BetaGeoFitter().fit(freq, rec, age)
    for key in ("r", "alpha", "a", "b"):
        assert getattr(ours, key) == pytest.approx(ref.params_[key], rel=2e-2)
    expected = bgnbd_expected(ours, 10, freq, rec, age)
    reference = ref.conditional_expected_number_of_purchases_up_to_time(10, freq, rec, age)
    np.testing.assert_allclose(expected, reference, rtol=3e-2, atol=1e-3)
    gg = fit_gamma_gamma(freq, mon)
    buyers = (freq > 0) & (mon > 0)
    ref_gg = lifetimes.GammaGammaFitter().fit(freq[buyers], mon[buyers])
    np.testing.assert_allclose(
        gamma_gamma_spend(gg, freq[buyers], mon[buyers]),
        ref_gg.conditional_expected_average_profit(freq[buyers], mon[buyers]),
        rtol=3e-2,
    )


def test_evaluate_reports_model_and_every_baseline(synthetic: pd.DataFrame) -> None:
    _, report = evaluate(synthetic, AS_OF, HORIZON, n_boot=20, model=LeadValueModel(max_iter=30))
    assert set(report["methods"]) == {"model", "rfm_quintile", "recency_only", "bgnbd_gamma_gamma"}
    _, target = split_at(synthetic, AS_OF, HORIZON)
    assert report["actual_total"] == pytest.approx(target.sum())
    assert report["customers"] == len(target)
    assert set(report["versus"]) == {"rfm_quintile", "recency_only", "bgnbd_gamma_gamma"}
    assert any("money total" in v for v in report["verdict"])
    # The model must at least beat the recency-only ranking on this synthetic cohort.
    assert report["versus"]["recency_only"]["normalized_gini"]["value"] > 0
