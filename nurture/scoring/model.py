"""The lead-value model: expected purchase value over a horizon and P(any purchase).

Training uses time only (never a random split across time): with a cut ``as_of`` and a
horizon ``h``, examples are the customers and leads known at ``as_of - h``, their features
computed at that earlier cut and their target the value bought in ``(as_of - h, as_of]``.
Features then move to ``as_of`` for scoring.

Two gradient-boosted trees do the work: a Poisson-loss regressor for the money (log link,
so it predicts a mean and its training total matches the training target) and a classifier
for "buys anything". BG/NBD and Gamma-Gamma, fitted in the same run on the same history,
are features (expected purchases, probability alive, expected spend).

The money total is then calibrated: a model trained on an earlier cut carries the buying
rate of an earlier, younger population into the future, and over-forecasts. With
``calibration="probabilistic"`` (the default) the predictions are scaled so that the
buyers' total equals the BG/NBD x Gamma-Gamma total at ``as_of``, a model whose dropout
process ages the cohort; the trees keep deciding who gets how much of it.
``calibration="rolling"`` instead scales by the ratio of actual to predicted totals of a
model one step earlier; ``"none"`` keeps the raw trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from nurture.errors import ModelError
from nurture.scoring.data import split_at, to_timestamp
from nurture.scoring.features import (
    HISTORY_FEATURES,
    LEAD_CATEGORICAL,
    LEAD_NUMERIC,
    history_features,
    lead_features,
)
from nurture.scoring.probabilistic import (
    BGNBDParams,
    GammaGammaParams,
    bgnbd_alive,
    bgnbd_expected,
    bgnbd_p_any,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_spend,
)

if TYPE_CHECKING:
    # scikit-learn ships no type information: what the model uses of its base class.
    class BaseEstimator:
        def get_params(self, deep: bool = True) -> dict[str, Any]: ...
        def set_params(self, **params: Any) -> BaseEstimator: ...
else:
    from sklearn.base import BaseEstimator

PROBABILISTIC_FEATURES: tuple[str, ...] = ("bg_expected", "bg_alive", "gg_spend", "bg_value")
CALIBRATIONS = ("probabilistic", "rolling", "none")
DateLike: TypeAlias = str | date | datetime | pd.Timestamp


@dataclass
class LeadData:
    """Lead attributes and engagement from the database (see :func:`lead_features`)."""

    leads: pd.DataFrame
    engagements: pd.DataFrame | None = None
    touches: pd.DataFrame | None = None


def repeat_summary(features: pd.DataFrame) -> tuple[NDArray[np.float64], ...]:
    """BG/NBD inputs from history features: repeat purchase days, recency and age in weeks,
    and the mean value of a repeat purchase day."""
    freq = np.nan_to_num(features["frequency"].to_numpy(dtype=float)) - 1.0
    freq = np.clip(freq, 0.0, None)
    recency = np.nan_to_num(features["span_days"].to_numpy(dtype=float)) / 7.0
    age = np.nan_to_num(features["tenure_days"].to_numpy(dtype=float)) / 7.0
    repeat_total = np.nan_to_num(
        features["amount_total"].to_numpy(dtype=float)
        - features["amount_first"].to_numpy(dtype=float)
    )
    monetary = np.where(freq > 0, repeat_total / np.maximum(freq, 1.0), 0.0)
    return freq, recency, age, monetary


def fit_probabilistic(
    features: pd.DataFrame, *, max_customers: int = 50_000, seed: int = 0
) -> tuple[BGNBDParams, GammaGammaParams]:
    """BG/NBD and Gamma-Gamma fitted on the buyers in ``features`` (a random subsample of
    at most ``max_customers``: the parameters describe the population, not each row)."""
    buyers = features[features["frequency"].fillna(0) > 0]
    if len(buyers) > max_customers:
        buyers = buyers.sample(n=max_customers, random_state=seed)
    freq, recency, age, monetary = repeat_summary(buyers)
    return fit_bgnbd(freq, recency, age), fit_gamma_gamma(freq, monetary)


def probabilistic_features(
    features: pd.DataFrame, bg: BGNBDParams, gg: GammaGammaParams, horizon_days: int
) -> pd.DataFrame:
    """The :data:`PROBABILISTIC_FEATURES` for every row (NaN for non-buyers)."""
    freq, recency, age, monetary = repeat_summary(features)
    buyer = features["frequency"].fillna(0).to_numpy() > 0
    expected = bgnbd_expected(bg, horizon_days / 7.0, freq, recency, age)
    spend = gamma_gamma_spend(gg, freq, monetary)
    out = pd.DataFrame(
        {
            "bg_expected": expected,
            "bg_alive": bgnbd_alive(bg, freq, recency, age),
            "gg_spend": spend,
            "bg_value": expected * spend,
        },
        index=features.index,
    )
    out.loc[~buyer, :] = np.nan
    return out


def build_features(
    transactions: pd.DataFrame,
    as_of: pd.Timestamp,
    leads: LeadData | None = None,
) -> pd.DataFrame:
    """History features (and lead features when ``leads`` is given) for everyone known at
    ``as_of``: each customer with a purchase up to then and each lead created up to then."""
    hist = history_features(transactions, as_of)
    if leads is None:
        return hist
    lead = lead_features(leads.leads, as_of, leads.engagements, leads.touches)
    index = hist.index.union(lead.index)
    frame = hist.reindex(index)
    buyers_only = ~index.isin(lead.index)
    lead = lead.reindex(index)
    for col in LEAD_CATEGORICAL:
        if not pd.api.types.is_string_dtype(lead[col]):  # all-NaN after reindex: float
            lead[col] = lead[col].astype(object)
        lead[col] = lead[col].fillna("")
    frame = pd.concat([frame, lead], axis=1)
    no_purchase = ~index.isin(hist.index)
    for col in ("frequency", "n_lines", "quantity_total", "amount_total"):
        frame.loc[no_purchase, col] = 0.0
    for w in (30, 90, 180, 365):
        frame.loc[no_purchase, [f"days_{w}d", f"amount_{w}d"]] = 0.0
    frame.loc[buyers_only, "has_company"] = np.nan
    return frame


class LeadValueModel(BaseEstimator):
    """Expected purchase value over ``horizon_days`` and probability of any purchase.

    Parameters
    ----------
    horizon_days : int, default=182
        Length of the future window predicted (26 weeks).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to both :class:`~sklearn.ensemble.HistGradientBoostingRegressor` (Poisson
        loss) and :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    use_probabilistic : bool, default=True
        Add the BG/NBD and Gamma-Gamma features (:data:`PROBABILISTIC_FEATURES`).
    calibration : {"probabilistic", "rolling", "none"}, default="probabilistic"
        How the money total is calibrated (see the module docstring).
    max_categories : int, default=50
        Most frequent values kept per categorical lead attribute; the rest are "other".
    random_state : int, default=0
        Seed of the trees and of the subsample used to fit BG/NBD.

    Attributes
    ----------
    as_of_ : str
        The cut the model was fitted at (ISO date).
    train_cut_ : str
        ``as_of_ - horizon_days``: where the training features were computed.
    feature_names_ : list of str
        Model inputs, in order.
    categories_ : dict of str to list of str
        Vocabulary of each categorical input (code = position).
    regressor_, classifier_ : fitted estimators
        The money regressor and the buys-anything classifier (``classifier_`` is None when
        the training window had only buyers or only non-buyers; then ``p_constant_``).
    bgnbd_, gamma_gamma_ : dict of str to float
        BG/NBD and Gamma-Gamma parameters fitted on the history up to ``as_of_``.
    scale_ : float
        Calibration factor applied to the regressor's predictions.
    p_shift_ : float
        Shift of the classifier's log-odds calibrating the mean probability of buying.
    training_summary_ : dict
        Counts and totals of the training window, for the model card.
    """

    def __init__(
        self,
        horizon_days: int = 182,
        max_iter: int = 400,
        learning_rate: float = 0.025,
        max_leaf_nodes: int = 7,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        use_probabilistic: bool = True,
        calibration: str = "probabilistic",
        max_categories: int = 50,
        random_state: int = 0,
    ) -> None:
        self.horizon_days = horizon_days
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.use_probabilistic = use_probabilistic
        self.calibration = calibration
        self.max_categories = max_categories
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        transactions: pd.DataFrame,
        as_of: DateLike,
        leads: LeadData | None = None,
    ) -> LeadValueModel:
        """Fit on everything known up to ``as_of`` (rows after it are never read).

        Parameters
        ----------
        transactions : DataFrame
            A transactions frame (see :mod:`nurture.scoring.data`).
        as_of : date-like
            The last day of data the model may use.
        leads : LeadData, optional
            Lead attributes and engagement (database scoring).

        Returns
        -------
        self
        """
        if self.calibration not in CALIBRATIONS:
            raise ModelError(f"calibration must be one of {', '.join(CALIBRATIONS)}")
        as_of_ts = to_timestamp(as_of)
        tx = transactions[transactions["date"] <= as_of_ts]
        cut = as_of_ts - pd.Timedelta(days=self.horizon_days)
        self.as_of_ = as_of_ts.date().isoformat()
        self.train_cut_ = cut.date().isoformat()
        x_cut, y_cut = self._examples(tx, cut, leads)
        if len(x_cut) < 10 or float(y_cut.sum()) <= 0:
            raise ModelError(
                f"not enough history to train: {len(x_cut)} customers known at {cut.date()}"
                f" bought {float(y_cut.sum()):.2f} in the {self.horizon_days} days to"
                f" {as_of_ts.date()}; use an earlier horizon or more data"
            )
        self.categories_ = {
            col: [
                str(v)
                for v in x_cut[col][x_cut[col] != ""].value_counts().index[: self.max_categories]
            ]
            for col in LEAD_CATEGORICAL
            if col in x_cut
        }
        self.categories_ = {k: v for k, v in self.categories_.items() if v}
        # A column empty in the whole training window carries nothing (and cannot be binned).
        self.feature_names_ = [
            c
            for c in x_cut.columns
            if (c in self.categories_) or (c not in LEAD_CATEGORICAL and x_cut[c].notna().any())
        ]
        self.regressor_, self.classifier_, self.p_constant_ = self._fit_trees(x_cut, y_cut)

        history_now = build_features(tx, as_of_ts, leads)
        if self.use_probabilistic:
            bg, gg = fit_probabilistic(history_now, seed=self.random_state)
            self.bgnbd_ = {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}
            self.gamma_gamma_ = {"p": gg.p, "q": gg.q, "v": gg.v}
        else:
            self.bgnbd_, self.gamma_gamma_ = {}, {}
        self.scale_ = 1.0
        self.p_shift_ = 0.0
        self.scale_ = self._calibrate(tx, cut, history_now, x_cut, y_cut, leads)
        if self.calibration == "probabilistic" and self.use_probabilistic:
            self.p_shift_ = self._calibrate_probability(history_now)
        self.training_summary_ = {
            "as_of": self.as_of_,
            "train_cut": self.train_cut_,
            "horizon_days": int(self.horizon_days),
            "train_examples": len(x_cut),
            "train_buyers_in_window": int((y_cut > 0).sum()),
            "train_target_total": round(float(y_cut.sum()), 2),
            "scored_at_as_of": len(history_now),
            "calibration": self.calibration,
            "scale": round(float(self.scale_), 6),
            "p_shift": round(float(self.p_shift_), 6),
        }
        return self

    def _examples(
        self, tx: pd.DataFrame, cut: pd.Timestamp, leads: LeadData | None
    ) -> tuple[pd.DataFrame, pd.Series]:
        frame = build_features(tx, cut, leads)
        if self.use_probabilistic and len(frame) and (frame["frequency"].fillna(0) > 0).any():
            bg, gg = fit_probabilistic(frame, seed=self.random_state)
            frame = pd.concat(
                [frame, probabilistic_features(frame, bg, gg, self.horizon_days)], axis=1
            )
        elif self.use_probabilistic:
            frame = frame.assign(**{c: np.nan for c in PROBABILISTIC_FEATURES})
        _, target = split_at(tx, cut, self.horizon_days)
        y = target.reindex(frame.index, fill_value=0.0).clip(lower=0.0)
        return frame, y

    def _tree_params(self) -> dict[str, Any]:
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "l2_regularization": self.l2_regularization,
            "random_state": self.random_state,
        }

    def _fit_trees(
        self, x: pd.DataFrame, y: pd.Series
    ) -> tuple[HistGradientBoostingRegressor, HistGradientBoostingClassifier | None, float]:
        matrix = self._encode(x)
        categorical = [name in LEAD_CATEGORICAL for name in self.feature_names_]
        cat = categorical if any(categorical) else None
        regressor = HistGradientBoostingRegressor(
            loss="poisson", categorical_features=cat, **self._tree_params()
        ).fit(matrix, y.to_numpy())
        bought = (y.to_numpy() > 0).astype(int)
        if 0 < bought.sum() < len(bought):
            classifier = HistGradientBoostingClassifier(
                categorical_features=cat, **self._tree_params()
            ).fit(matrix, bought)
            return regressor, classifier, float(bought.mean())
        return regressor, None, float(bought.mean())

    def _calibrate(
        self,
        tx: pd.DataFrame,
        cut: pd.Timestamp,
        history_now: pd.DataFrame,
        x_cut: pd.DataFrame,
        y_cut: pd.Series,
        leads: LeadData | None,
    ) -> float:
        if self.calibration == "none":
            return 1.0
        if self.calibration == "probabilistic" and self.use_probabilistic:
            frame = self._with_probabilistic(history_now)
            raw = self.regressor_.predict(self._encode(frame))
            buyers = frame["frequency"].fillna(0).to_numpy() > 0
            anchor = float(np.nansum(frame["bg_value"].to_numpy()[buyers]))
            mass = float(raw[buyers].sum())
            return anchor / mass if mass > 0 and anchor > 0 else 1.0
        # rolling: a model one step earlier, judged on the window we know the answer for.
        step = pd.Timedelta(days=min(self.horizon_days, 91))
        earlier = LeadValueModel(**{**self.get_params(), "calibration": "none"})
        try:
            earlier.fit(tx, cut + pd.Timedelta(days=self.horizon_days) - step, leads)
        except ModelError:
            return 1.0
        predicted = earlier.predict_frame(earlier.features(tx, cut, leads))["predicted_value"]
        predicted = predicted.reindex(y_cut.index, fill_value=0.0)
        total = float(predicted.sum())
        return float(y_cut.sum()) / total if total > 0 else 1.0

    def _calibrate_probability(self, history_now: pd.DataFrame) -> float:
        """A shift of the classifier's log-odds so that the buyers' mean P(any purchase)
        equals the BG/NBD one at ``as_of`` (the same ageing correction as the money)."""
        if self.classifier_ is None:
            return 0.0
        frame = self._with_probabilistic(history_now)
        buyers = frame["frequency"].fillna(0).to_numpy() > 0
        if not buyers.any():
            return 0.0
        freq, recency, age, _ = repeat_summary(frame[buyers])
        bg = BGNBDParams(**self.bgnbd_)
        target = float(np.mean(bgnbd_p_any(bg, self.horizon_days / 7.0, freq, recency, age)))
        raw = self.classifier_.predict_proba(self._encode(frame[buyers]))[:, 1]
        logit = np.log(np.clip(raw, 1e-9, 1 - 1e-9) / np.clip(1 - raw, 1e-9, 1.0))
        low, high = -10.0, 10.0
        for _ in range(60):  # the mean of expit(logit + s) increases with s
            mid = (low + high) / 2
            if float(np.mean(expit(logit + mid))) < target:
                low = mid
            else:
                high = mid
        return (low + high) / 2

    # ---------------------------------------------------------------- predicting
    def _check_fitted(self) -> None:
        if not hasattr(self, "regressor_"):
            raise ModelError("the model is not fitted: call fit() or load a published version")

    def _with_probabilistic(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.use_probabilistic:
            return frame
        bg = BGNBDParams(**self.bgnbd_)
        gg = GammaGammaParams(**self.gamma_gamma_)
        extra = probabilistic_features(frame, bg, gg, self.horizon_days)
        return pd.concat(
            [frame.drop(columns=list(PROBABILISTIC_FEATURES), errors="ignore"), extra], axis=1
        )

    def features(
        self, transactions: pd.DataFrame, as_of: DateLike, leads: LeadData | None = None
    ) -> pd.DataFrame:
        """The model's input frame at ``as_of`` (rows after it are ignored)."""
        self._check_fitted()
        as_of_ts = to_timestamp(as_of)
        frame = build_features(transactions, as_of_ts, leads)
        return self._with_probabilistic(frame)

    def _encode(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        columns = []
        for name in self.feature_names_:
            if name not in frame:
                columns.append(np.full(len(frame), np.nan))
            elif name in LEAD_CATEGORICAL:
                vocab = {v: i for i, v in enumerate(self.categories_.get(name, []))}
                other = float(len(vocab))
                columns.append(
                    np.array(
                        [np.nan if not v else vocab.get(v, other) for v in frame[name]],
                        dtype=float,
                    )
                )
            else:
                columns.append(pd.to_numeric(frame[name], errors="coerce").to_numpy(float))
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions for a feature frame from :meth:`features`.

        Returns
        -------
        DataFrame
            Indexed like ``frame``: ``predicted_value`` (money over the horizon, calibrated)
            and ``p_purchase`` (probability of any purchase in the horizon).
        """
        self._check_fitted()
        if len(frame) == 0:
            return pd.DataFrame({"predicted_value": [], "p_purchase": []}, index=frame.index)
        matrix = self._encode(frame)
        value = np.clip(self.regressor_.predict(matrix), 0.0, None) * self.scale_
        if self.classifier_ is not None:
            p = self.classifier_.predict_proba(matrix)[:, 1]
            shift = getattr(self, "p_shift_", 0.0)
            if shift:
                p = expit(np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1.0)) + shift)
        else:
            p = np.full(len(frame), self.p_constant_)
        return pd.DataFrame({"predicted_value": value, "p_purchase": p}, index=frame.index)

    def predict(
        self, transactions: pd.DataFrame, as_of: DateLike, leads: LeadData | None = None
    ) -> pd.DataFrame:
        """``customer_id, predicted_value, p_purchase`` for everyone known at ``as_of``."""
        out = self.predict_frame(self.features(transactions, as_of, leads))
        return out.rename_axis("customer_id").reset_index()


ALL_FEATURES: tuple[str, ...] = (
    *HISTORY_FEATURES,
    *PROBABILISTIC_FEATURES,
    *LEAD_CATEGORICAL,
    *LEAD_NUMERIC,
)
