"""Ranking and money metrics for lead value, with bootstrap confidence intervals.

Ties in a score are handled as the average over every order of the tied customers (a score
with many ties, like an RFM cell, is neither rewarded nor punished for an arbitrary order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata, spearmanr
from sklearn.metrics import roc_auc_score

FloatArray = NDArray[np.float64]


def _sorted_with_ties(actual: FloatArray, score: FloatArray) -> FloatArray:
    """``actual`` in descending order of ``score``, each tie group replaced by its mean."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    a = actual[order]
    if len(s) == 0:
        return a
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sums = np.add.reduceat(a, starts)
    sizes = np.diff(np.r_[starts, len(s)])
    return np.repeat(sums / sizes, sizes)


def _gini(actual: FloatArray, score: FloatArray) -> float:
    n = len(actual)
    total = actual.sum()
    if n == 0 or total == 0:
        return float("nan")
    cum = np.cumsum(_sorted_with_ties(actual, score)) / total
    return float(cum.sum() / n - (n + 1) / (2 * n))


def normalized_gini(actual: ArrayLike, score: ArrayLike) -> float:
    """Gini of ``actual`` ordered by ``score``, divided by the Gini of the perfect order.

    1 is a perfect ranking, 0 a random one, negative worse than random.
    """
    a = np.asarray(actual, dtype=float)
    s = np.asarray(score, dtype=float)
    best = _gini(a, a)
    return float("nan") if not best or np.isnan(best) else _gini(a, s) / best


def top_share_capture(actual: ArrayLike, score: ArrayLike, share: float = 0.1) -> float:
    """Share of the total ``actual`` value held by the top ``share`` of customers by score."""
    a = np.asarray(actual, dtype=float)
    s = np.asarray(score, dtype=float)
    total = a.sum()
    if len(a) == 0 or total == 0:
        return float("nan")
    k = max(1, round(len(a) * share))
    return float(_sorted_with_ties(a, s)[:k].sum() / total)


def spearman(actual: ArrayLike, score: ArrayLike) -> float:
    """Spearman rank correlation (NaN when either side is constant)."""
    a = np.asarray(actual, dtype=float)
    s = np.asarray(score, dtype=float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(s == s[0]):
        return float("nan")
    return float(spearmanr(a, s).statistic)


def buys_again_auc(actual: ArrayLike, score: ArrayLike) -> float:
    """ROC AUC of ``score`` for "buys anything in the horizon" (``actual > 0``)."""
    y = np.asarray(actual, dtype=float) > 0
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(score, dtype=float)))


def total_error(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Relative error of the predicted money total: ``sum(pred) / sum(actual) - 1``."""
    total = float(np.sum(np.asarray(actual, dtype=float)))
    if total == 0:
        return float("nan")
    return float(np.sum(np.asarray(predicted, dtype=float)) / total - 1)


def decile_table(actual: ArrayLike, predicted: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Calibration and lift by predicted decile (decile 1 = highest predictions).

    Columns: ``decile, customers, predicted_mean, actual_mean, predicted_total,
    actual_total, actual_share, lift`` (lift = decile's actual mean over the overall mean).
    """
    a = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    ranks = rankdata(-p, method="ordinal")  # 1 = highest
    decile = np.ceil(ranks * bins / max(len(p), 1)).astype(int)
    frame = pd.DataFrame({"decile": decile, "actual": a, "predicted": p})
    table = frame.groupby("decile").agg(
        customers=("actual", "size"),
        predicted_mean=("predicted", "mean"),
        actual_mean=("actual", "mean"),
        predicted_total=("predicted", "sum"),
        actual_total=("actual", "sum"),
    )
    overall = a.mean() if len(a) else float("nan")
    table["actual_share"] = table["actual_total"] / (a.sum() or np.nan)
    table["lift"] = table["actual_mean"] / (overall or np.nan)
    return table.reset_index()


@dataclass(frozen=True)
class Estimate:
    """A metric value with a bootstrap percentile interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float | None]:
        return {
            k: (None if np.isnan(v) else round(float(v), 6))
            for k, v in (("value", self.value), ("low", self.low), ("high", self.high))
        }


MetricFn = Callable[[FloatArray, FloatArray], float]

#: Metrics on a ranking score (any monotone score).
RANK_METRICS: dict[str, MetricFn] = {
    "normalized_gini": normalized_gini,
    "top10_capture": top_share_capture,
    "spearman": spearman,
}


@dataclass
class MethodScores:
    """What one method produced for every customer: a ranking score, and optionally a
    money prediction and a probability of buying."""

    score: FloatArray
    value: FloatArray | None = None
    p_purchase: FloatArray | None = None
    notes: list[str] = field(default_factory=list)

    def metric_inputs(self) -> dict[str, tuple[FloatArray, MetricFn]]:
        out: dict[str, tuple[FloatArray, MetricFn]] = {
            name: (self.score, fn) for name, fn in RANK_METRICS.items()
        }
        out["buys_again_auc"] = (
            self.p_purchase if self.p_purchase is not None else self.score,
            buys_again_auc,
        )
        if self.value is not None:
            out["total_error"] = (self.value, total_error)
        return out


def evaluate_methods(
    actual: ArrayLike,
    methods: Mapping[str, MethodScores],
    *,
    reference: str | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, object]:
    """Every metric of every method with a bootstrap interval (customers resampled with
    replacement, the same resamples for all methods), plus paired differences of
    ``reference`` against each other method (positive = the reference is better).

    Returns a JSON-ready dict: ``{"customers", "n_boot", "level", "methods": {name:
    {metric: {value, low, high}}}, "versus": {other: {metric: {value, low, high}}},
    "deciles": {name: [rows]}}``.
    """
    a = np.asarray(actual, dtype=float)
    n = len(a)
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, n, size=n) for _ in range(n_boot)] if n else []
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2

    def interval(values: list[float], point: float) -> Estimate:
        arr = np.asarray([v for v in values if not np.isnan(v)])
        if len(arr) == 0:
            return Estimate(point, float("nan"), float("nan"))
        return Estimate(point, float(np.quantile(arr, lo_q)), float(np.quantile(arr, hi_q)))

    boot: dict[str, dict[str, list[float]]] = {}
    points: dict[str, dict[str, float]] = {}
    result_methods: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, method in methods.items():
        inputs = method.metric_inputs()
        points[name] = {m: fn(a, x) for m, (x, fn) in inputs.items()}
        boot[name] = {m: [fn(a[idx], x[idx]) for idx in samples] for m, (x, fn) in inputs.items()}
        result_methods[name] = {
            m: interval(boot[name][m], points[name][m]).as_dict() for m in inputs
        }
    versus: dict[str, dict[str, dict[str, float | None]]] = {}
    if reference is not None and reference in methods:
        for other in methods:
            if other == reference:
                continue
            diffs: dict[str, dict[str, float | None]] = {}
            for metric in ("normalized_gini", "top10_capture", "spearman", "buys_again_auc"):
                if metric not in boot[other] or metric not in boot[reference]:
                    continue
                d = [
                    x - y for x, y in zip(boot[reference][metric], boot[other][metric], strict=True)
                ]
                point = points[reference][metric] - points[other][metric]
                diffs[metric] = interval(d, point).as_dict()
            versus[other] = diffs
    deciles = {
        name: decile_table(a, m.value if m.value is not None else m.score).to_dict("records")
        for name, m in methods.items()
    }
    return {
        "customers": n,
        "actual_total": float(a.sum()),
        "n_boot": n_boot,
        "level": level,
        "methods": result_methods,
        "versus": versus,
        "deciles": deciles,
    }
