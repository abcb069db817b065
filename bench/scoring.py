"""Lead-scoring benchmark: training time on CDNOW and time to score N leads (default
1,000,000), each with the ratio to a baseline measured in the same run.

    .venv/bin/python bench/scoring.py [--rows N] [--json]

* training: LeadValueModel.fit on the full CDNOW cohort (features to 1997-12-30) against
  fitting the BG/NBD x Gamma-Gamma baseline (lifetimes) on the same history;
* scoring: features + predictions for N customers (CDNOW histories replicated under new
  ids, about 3 purchases each) against RFM-quintile scoring of the same rows (the cheapest
  sensible ranking: features + three quantile ranks);
* scoring with a method fitted on the data (what `score leads` uses until a model is
  trained on the database): fit + predict for the same N customers, against the same
  RFM-quintile floor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, peak_rss_mb, timed

from nurture.scoring.baselines import bgnbd_gamma_gamma, rfm_quintile_score
from nurture.scoring.data import CDNOW_AS_OF, CDNOW_HORIZON_DAYS, load_cdnow
from nurture.scoring.features import history_features
from nurture.scoring.local import fit_local
from nurture.scoring.model import LeadValueModel


def replicate(tx: pd.DataFrame, customers: int) -> pd.DataFrame:
    """``customers`` customers made of copies of the CDNOW histories under new ids."""
    ids = tx["customer_id"].unique()
    copies = int(np.ceil(customers / len(ids)))
    parts = []
    for k in range(copies):
        part = tx.assign(customer_id=tx["customer_id"] + f"-{k}")
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    keep = pd.Index(out["customer_id"].unique()[:customers])
    return out[out["customer_id"].isin(keep)].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="Leads to score.")
    parser.add_argument(
        "--train-customers",
        type=int,
        default=None,
        help="CDNOW subsample for training (default: all 23,570).",
    )
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()

    tx = load_cdnow(args.train_customers)
    history = tx[tx["date"] <= CDNOW_AS_OF]
    report = Report(
        f"lead scoring ({history['customer_id'].nunique():,} training customers,"
        f" {args.rows:,} leads scored)"
    )

    with timed() as t_fit:
        model = LeadValueModel(horizon_days=CDNOW_HORIZON_DAYS).fit(history, CDNOW_AS_OF)
    with timed() as t_base:
        bgnbd_gamma_gamma(history_features(history, CDNOW_AS_OF), CDNOW_HORIZON_DAYS)
    report.add(
        step="train",
        seconds=t_fit.seconds,
        baseline="BG/NBD x GG fit",
        baseline_seconds=t_base.seconds,
        ratio=t_fit.seconds / t_base.seconds,
    )

    big = replicate(history, args.rows)
    n = big["customer_id"].nunique()
    with timed() as t_score:
        scores = model.predict_frame(model.features(big, CDNOW_AS_OF))
    with timed() as t_rfm:
        rfm = rfm_quintile_score(history_features(big, CDNOW_AS_OF))
    assert len(scores) == n == len(rfm)
    report.add(
        step=f"score {n:,} leads",
        seconds=t_score.seconds,
        baseline="RFM quintile",
        baseline_seconds=t_rfm.seconds,
        ratio=t_score.seconds / t_rfm.seconds,
        leads_per_second=n / t_score.seconds,
        transactions=len(big),
        peak_rss_mb=peak_rss_mb(),
    )
    with timed() as t_local:
        local = fit_local(big, CDNOW_AS_OF, horizon_days=CDNOW_HORIZON_DAYS)
        local_scores = local.predict_frame(local.features(big, CDNOW_AS_OF))
    assert len(local_scores) == n
    report.add(
        step=f"fit here + score {n:,} leads ({local.method})",
        seconds=t_local.seconds,
        baseline="RFM quintile",
        baseline_seconds=t_rfm.seconds,
        ratio=t_local.seconds / t_rfm.seconds,
        leads_per_second=n / t_local.seconds,
        transactions=len(big),
        peak_rss_mb=peak_rss_mb(),
    )
    report.print()


if __name__ == "__main__":
    main()
