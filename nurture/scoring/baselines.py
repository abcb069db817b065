"""Baselines fitted in the same run as the model, on the same history.

* RFM quintile score: recency, frequency and monetary quintiles (1-5 each), summed
  (a ranking only, no money figure);
* recency only: the more recent the last purchase, the higher (a ranking only);
* BG/NBD x Gamma-Gamma (Fader, Hardie and Lee 2005; Fader, Hardie and Lee 2005b) through
  the ``lifetimes`` package (``eval`` extra), on weekly time; if ``lifetimes`` is missing
  or broken, the same model from :mod:`nurture.scoring.probabilistic`, and the note says so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from nurture.scoring.features import history_features
from nurture.scoring.metrics import MethodScores
from nurture.scoring.model import fit_probabilistic, probabilistic_features, repeat_summary


def _quintile(values: pd.Series) -> np.ndarray:
    """1..5 by value rank (ties share the average rank, so equal values share a quintile)."""
    pct = values.rank(method="average", pct=True).to_numpy()
    quintile: np.ndarray = np.ceil(pct * 5).clip(1, 5)
    return quintile


def rfm_quintile_score(features: pd.DataFrame) -> np.ndarray:
    """R + F + M quintile score (3..15) from history features."""
    r = _quintile(-features["recency_days"])
    f = _quintile(features["frequency"])
    m = _quintile(features["amount_total"])
    score: np.ndarray = r + f + m
    return score


def recency_score(features: pd.DataFrame) -> np.ndarray:
    """Minus days since the last purchase."""
    score: np.ndarray = -features["recency_days"].to_numpy(dtype=float)
    return score


def bgnbd_gamma_gamma(features: pd.DataFrame, horizon_days: int) -> MethodScores:
    """BG/NBD expected purchases x Gamma-Gamma expected spend over the horizon."""
    freq, recency, age, monetary = repeat_summary(features)
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifetimes import BetaGeoFitter, GammaGammaFitter

            bg = BetaGeoFitter(penalizer_coef=0.0).fit(freq, recency, age)
            buyers = (freq > 0) & (monetary > 0)
            gg = GammaGammaFitter(penalizer_coef=0.0).fit(freq[buyers], monetary[buyers])
            expected = np.asarray(
                bg.conditional_expected_number_of_purchases_up_to_time(
                    horizon_days / 7.0, freq, recency, age
                ),
                dtype=float,
            )
            spend = np.asarray(gg.conditional_expected_average_profit(freq, monetary), float)
            alive = np.asarray(bg.conditional_probability_alive(freq, recency, age), float)
            notes.append(
                "lifetimes {}: r={:.3f} alpha={:.3f} a={:.3f} b={:.3f}; p={:.3f} q={:.3f}"
                " v={:.3f}".format(
                    _lifetimes_version(),
                    *(bg.params_[k] for k in ("r", "alpha", "a", "b")),
                    *(gg.params_[k] for k in ("p", "q", "v")),
                )
            )
    except Exception as exc:  # lifetimes missing, or broken by a newer numpy/pandas
        params = fit_probabilistic(features)
        extra = probabilistic_features(features, *params, horizon_days)
        expected = extra["bg_expected"].fillna(0).to_numpy()
        spend = extra["gg_spend"].fillna(0).to_numpy()
        alive = extra["bg_alive"].fillna(0).to_numpy()
        notes.append(f"lifetimes unavailable ({type(exc).__name__}); nurture's own BG/NBD used")
    value = np.nan_to_num(expected * spend)
    # AUC of "buys again" uses only the order of expected purchases.
    del alive
    return MethodScores(score=value, value=value, p_purchase=expected, notes=notes)


def _lifetimes_version() -> str:
    try:
        from importlib.metadata import version

        return version("lifetimes")
    except Exception:
        return "?"


def baseline_scores(
    transactions: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int,
    customers: pd.Index | None = None,
) -> dict[str, MethodScores]:
    """Every baseline, aligned on ``customers`` (default: everyone with history)."""
    feats = history_features(transactions, as_of)
    if customers is not None:
        feats = feats.reindex(customers)
    return {
        "rfm_quintile": MethodScores(score=rfm_quintile_score(feats)),
        "recency_only": MethodScores(score=recency_score(feats)),
        "bgnbd_gamma_gamma": bgnbd_gamma_gamma(feats, horizon_days),
    }
