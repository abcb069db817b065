"""A scorer fitted on the database being scored, for when no published model was.

A model learns the scale of the money it was trained on: one trained on 1990s US-dollar CD
sales puts every rouble customer beyond its largest split, and then ranks them by recency,
so a lead who spent 15,000 comes out above one who spent 1,250,000. Until a model trained on
this database exists (``nurture score train``), Nurture ranks with one of two methods fitted
here, on this database's own purchases and currency:

* ``probabilistic``, when there are enough buyers to fit it (:data:`MIN_BUYERS` customers,
  :data:`MIN_REPEAT_BUYERS` of them buying on more than one day): BG/NBD's expected purchase
  days over the horizon (it ages the cohort: a customer long silent is likely gone) times
  each customer's expected spend per purchase day; ``p_purchase`` is BG/NBD's probability
  of at least one purchase;
* ``rfm`` otherwise: each customer's own rate so far (purchase days per day since their
  first purchase, over at least one horizon) times the horizon, times the same expected
  spend. Too few customers to fit a dropout process, so a long-silent customer keeps the
  rate they had; ``p_purchase`` is the Poisson chance of at least one purchase at that rate.

Expected spend per purchase day is the Gamma-Gamma posterior mean fitted on all purchase
days, the first included (``lifetimes`` leaves the first purchase out; in B2B the first
order is the best evidence of order size, and most customers have only one). Below
:data:`MIN_SPEND_FIT` buyers the prior is fixed instead of fitted: the database's mean
spend, weighing as much as two purchase days. Leads with no purchase score 0 under both
methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nurture.scoring.data import to_timestamp
from nurture.scoring.features import HISTORY_FEATURES, history_features
from nurture.scoring.model import DateLike, LeadData, repeat_summary
from nurture.scoring.probabilistic import (
    BGNBDParams,
    GammaGammaParams,
    bgnbd_expected,
    bgnbd_p_any,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_spend,
)

#: Fewest buyers, and buyers on more than one day, to fit BG/NBD.
MIN_BUYERS = 100
MIN_REPEAT_BUYERS = 20
#: Fewest buyers to fit the Gamma-Gamma spend prior rather than fix it.
MIN_SPEND_FIT = 20
METHODS = ("probabilistic", "rfm")
#: Prefix of the ``model_version`` of scores written by a local scorer (a published
#: version name never contains ``:``).
VERSION_PREFIX = "local:"


def is_local_version(model_version: str) -> bool:
    """True for scores written by a :class:`LocalScorer` rather than a published model."""
    return model_version.startswith(VERSION_PREFIX)


def _spend_params(freq_all: np.ndarray, mean_spend: np.ndarray) -> GammaGammaParams:
    positive = mean_spend > 0
    if int(positive.sum()) >= MIN_SPEND_FIT:
        params = fit_gamma_gamma(freq_all[positive], mean_spend[positive])
        if all(np.isfinite(v) and v > 0 for v in (params.p, params.q, params.v)) and params.q > 1:
            return params
    mean = float(np.mean(mean_spend[positive])) if positive.any() else 1.0
    # p=1, q=3: the prior mean is v / 2 and weighs as much as two purchase days.
    return GammaGammaParams(p=1.0, q=3.0, v=2.0 * mean)


@dataclass
class LocalScorer:
    """Expected value over ``horizon_days`` from this database's purchase history.

    Fitted by :func:`fit_local`; used like a :class:`~nurture.scoring.model.LeadValueModel`
    by the database edge (:meth:`features`, then :meth:`predict_frame`).
    """

    method: str
    horizon_days: int
    spend: GammaGammaParams
    bgnbd: BGNBDParams | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    feature_names_: list[str] = field(default_factory=lambda: list(HISTORY_FEATURES))

    @property
    def version(self) -> str:
        """What the scores it writes are labelled with in ``lead_scores.model_version``."""
        return f"{VERSION_PREFIX}{self.method}"

    def features(
        self, transactions: pd.DataFrame, as_of: DateLike, leads: LeadData | None = None
    ) -> pd.DataFrame:
        """Purchase-history features at ``as_of`` (lead attributes are not used)."""
        return history_features(transactions, to_timestamp(as_of))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``predicted_value`` and ``p_purchase`` for each row of a history-feature frame
        (rows with no purchase get 0)."""
        freq_all = np.nan_to_num(frame["frequency"].to_numpy(dtype=float))
        buyer = freq_all > 0
        total = np.nan_to_num(frame["amount_total"].to_numpy(dtype=float))
        mean_spend = np.where(buyer, total / np.maximum(freq_all, 1.0), 0.0)
        spend = gamma_gamma_spend(self.spend, freq_all, mean_spend)
        if self.method == "probabilistic" and self.bgnbd is not None:
            freq, recency, age, _ = repeat_summary(frame)
            horizon = self.horizon_days / 7.0
            expected = bgnbd_expected(self.bgnbd, horizon, freq, recency, age)
            p_any = bgnbd_p_any(self.bgnbd, horizon, freq, recency, age)
        else:
            tenure = np.nan_to_num(frame["tenure_days"].to_numpy(dtype=float))
            rate = freq_all / np.maximum(tenure, float(self.horizon_days))
            expected = rate * self.horizon_days
            p_any = 1.0 - np.exp(-expected)
        value = np.where(buyer, expected * spend, 0.0)
        p = np.where(buyer, np.clip(p_any, 0.0, 1.0), 0.0)
        return pd.DataFrame({"predicted_value": value, "p_purchase": p}, index=frame.index)

    def predict(self, transactions: pd.DataFrame, as_of: DateLike) -> pd.DataFrame:
        """``customer_id, predicted_value, p_purchase`` for every customer seen at ``as_of``."""
        out = self.predict_frame(self.features(transactions, as_of))
        return out.rename_axis("customer_id").reset_index()


def fit_local(
    transactions: pd.DataFrame,
    as_of: DateLike,
    *,
    horizon_days: int = 182,
    max_customers: int = 50_000,
    seed: int = 0,
) -> LocalScorer:
    """Fit the best method the data allow (see the module docstring) on purchases up to
    ``as_of``. The parameters describe the population, so at most ``max_customers``
    buyers, drawn at random, fit them (a million buyers would add time, not accuracy)."""
    everyone = history_features(transactions, to_timestamp(as_of))
    feats = everyone
    if len(everyone) > max_customers:
        feats = everyone.sample(n=max_customers, random_state=seed)
    freq_all = feats["frequency"].to_numpy(dtype=float)
    total = feats["amount_total"].to_numpy(dtype=float)
    mean_spend = np.where(freq_all > 0, total / np.maximum(freq_all, 1.0), 0.0)
    spend = _spend_params(freq_all, mean_spend)
    buyers = len(feats)
    repeat = int((freq_all > 1).sum())
    summary = {
        "buyers": len(everyone),
        "fitted_on": buyers,
        "repeat_buyers_fitted": repeat,
        "as_of": str(to_timestamp(as_of).date()),
    }
    if buyers >= MIN_BUYERS and repeat >= MIN_REPEAT_BUYERS:
        freq, recency, age, _ = repeat_summary(feats)
        bg = fit_bgnbd(freq, recency, age)
        if all(np.isfinite(v) and v > 0 for v in (bg.r, bg.alpha, bg.a, bg.b)):
            return LocalScorer("probabilistic", horizon_days, spend, bg, summary)
    return LocalScorer("rfm", horizon_days, spend, None, summary)


__all__ = [
    "METHODS",
    "MIN_BUYERS",
    "MIN_REPEAT_BUYERS",
    "LocalScorer",
    "fit_local",
    "is_local_version",
]
