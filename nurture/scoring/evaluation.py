"""Out-of-time evaluation: fit on history up to ``as_of``, score the next ``horizon_days``,
compare with baselines fitted in the same run, with bootstrap intervals."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from nurture.errors import InputError
from nurture.scoring.baselines import baseline_scores
from nurture.scoring.data import split_at, to_timestamp
from nurture.scoring.metrics import MethodScores, evaluate_methods
from nurture.scoring.model import DateLike, LeadValueModel

#: The money total counts as calibrated within this relative error.
TOTAL_TOLERANCE = 0.05


def verdicts(report: dict[str, Any], reference: str = "model") -> list[str]:
    """Plain sentences: where the model beats each baseline beyond the interval, and
    whether the money total is within :data:`TOTAL_TOLERANCE`."""
    out: list[str] = []
    for other, diffs in report.get("versus", {}).items():
        for metric in ("normalized_gini", "top10_capture"):
            d = diffs.get(metric)
            if not d or d.get("value") is None:
                continue
            low, high = d.get("low"), d.get("high")
            span = f"{d['value']:+.4f} [{low:+.4f}, {high:+.4f}]"
            if low is not None and low > 0:
                out.append(f"beats {other} on {metric}: {span} (interval above 0)")
            elif high is not None and high < 0:
                out.append(f"WORSE than {other} on {metric}: {span} (interval below 0)")
            else:
                out.append(f"does NOT beat {other} on {metric} beyond the interval: {span}")
    err = report.get("methods", {}).get(reference, {}).get("total_error", {}).get("value")
    if err is not None:
        ok = abs(err) <= TOTAL_TOLERANCE
        out.append(f"money total {'within' if ok else 'OUTSIDE'} {TOTAL_TOLERANCE:.0%}: {err:+.2%}")
    return out


def evaluate(
    transactions: pd.DataFrame,
    as_of: DateLike,
    horizon_days: int,
    *,
    n_boot: int = 200,
    seed: int = 0,
    model: LeadValueModel | None = None,
) -> tuple[LeadValueModel, dict[str, Any]]:
    """Fit ``model`` (default parameters when None) on the rows up to ``as_of`` only,
    predict the next ``horizon_days`` for every customer seen up to ``as_of``, and compare
    with the baselines. Returns the fitted model and a JSON-ready report."""
    as_of_ts = to_timestamp(as_of)
    history, target = split_at(transactions, as_of_ts, horizon_days)
    if history.empty:
        raise InputError(f"no transactions on or before {as_of_ts.date()}", field="date")
    end = as_of_ts + pd.Timedelta(days=horizon_days)
    if transactions["date"].max() < end:
        raise InputError(
            f"the data end on {transactions['date'].max().date()}, before the end of the"
            f" evaluation window {end.date()}: choose an earlier --as-of or a shorter"
            " --horizon-days",
            field="date",
        )
    model = model if model is not None else LeadValueModel(horizon_days=horizon_days)
    model.set_params(horizon_days=horizon_days)
    started = time.perf_counter()
    model.fit(history, as_of_ts)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predictions = model.predict(history, as_of_ts).set_index("customer_id")
    predict_seconds = time.perf_counter() - started
    actual = target.reindex(predictions.index, fill_value=0.0).to_numpy(dtype=float)
    value = predictions["predicted_value"].to_numpy(dtype=float)
    methods: dict[str, MethodScores] = {
        "model": MethodScores(
            score=value, value=value, p_purchase=predictions["p_purchase"].to_numpy(float)
        )
    }
    methods.update(baseline_scores(history, as_of_ts, horizon_days, predictions.index))
    report = evaluate_methods(actual, methods, reference="model", n_boot=n_boot, seed=seed)
    report.update(
        {
            "as_of": as_of_ts.date().isoformat(),
            "horizon_days": int(horizon_days),
            "predicted_total": float(value.sum()),
            "mean_p_purchase": float(np.mean(predictions["p_purchase"])),
            "buyers_share": float(np.mean(actual > 0)),
            "fit_seconds": round(fit_seconds, 3),
            "predict_seconds": round(predict_seconds, 3),
            "notes": [n for m in methods.values() for n in m.notes],
        }
    )
    report["verdict"] = verdicts(report)
    return model, report
