"""Lead scoring: rank dormant leads by the money they are expected to spend.

The public face of the capability; the CLI, the flows, the notebooks and other capabilities
import from here. Names load on first use (PEP 562), so ``import nurture.scoring`` stays
cheap for ``nurture --help`` and for the cadence, which needs only :func:`dormant_at`.

* Scoring a database: :func:`score_database` (the published model when it was trained
  here, else :func:`fit_local`), :func:`rank_dormant`, :func:`why_none_dormant`,
  :func:`train_from_database`; dormancy: :func:`dormant_at`, :func:`last_signs`.
* The model and its evaluation: :class:`LeadValueModel`, :func:`evaluate`,
  :func:`evaluate_and_publish`, :func:`baseline_scores`, the metrics, the charts.
* Data: transactions frames (:func:`read_transactions_csv`, :func:`load_cdnow`,
  :func:`synthetic_transactions`, :func:`split_at`), as-of features.
* Versions and model cards: :mod:`nurture.scoring.registry`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nurture.scoring import registry
    from nurture.scoring.baselines import baseline_scores
    from nurture.scoring.data import (
        CDNOW_AS_OF,
        CDNOW_CURRENCY,
        CDNOW_DESCRIPTION,
        CDNOW_HORIZON_DAYS,
        load_cdnow,
        read_transactions_csv,
        split_at,
        synthetic_transactions,
        write_transactions_csv,
    )
    from nurture.scoring.dormancy import dormant_at, last_signs
    from nurture.scoring.evaluation import evaluate
    from nurture.scoring.features import HISTORY_FEATURES, history_features, lead_features
    from nurture.scoring.local import LocalScorer, fit_local
    from nurture.scoring.metrics import decile_table, normalized_gini, top_share_capture
    from nurture.scoring.model import LeadData, LeadValueModel
    from nurture.scoring.plots import calibration_chart, lift_chart
    from nurture.scoring.provenance import ScoringPlan
    from nurture.scoring.ranking import rank_dormant, why_none_dormant
    from nurture.scoring.service import (
        describe_scores,
        evaluate_and_publish,
        plan_scoring,
        score_database,
        train_from_database,
    )

# Each public name and the module that defines it.
_HOME: dict[str, str] = {
    "registry": "nurture.scoring.registry",
    "baseline_scores": "nurture.scoring.baselines",
    "CDNOW_AS_OF": "nurture.scoring.data",
    "CDNOW_CURRENCY": "nurture.scoring.data",
    "CDNOW_DESCRIPTION": "nurture.scoring.data",
    "CDNOW_HORIZON_DAYS": "nurture.scoring.data",
    "load_cdnow": "nurture.scoring.data",
    "read_transactions_csv": "nurture.scoring.data",
    "split_at": "nurture.scoring.data",
    "synthetic_transactions": "nurture.scoring.data",
    "write_transactions_csv": "nurture.scoring.data",
    "dormant_at": "nurture.scoring.dormancy",
    "last_signs": "nurture.scoring.dormancy",
    "evaluate": "nurture.scoring.evaluation",
    "HISTORY_FEATURES": "nurture.scoring.features",
    "history_features": "nurture.scoring.features",
    "lead_features": "nurture.scoring.features",
    "LocalScorer": "nurture.scoring.local",
    "fit_local": "nurture.scoring.local",
    "decile_table": "nurture.scoring.metrics",
    "normalized_gini": "nurture.scoring.metrics",
    "top_share_capture": "nurture.scoring.metrics",
    "LeadData": "nurture.scoring.model",
    "LeadValueModel": "nurture.scoring.model",
    "calibration_chart": "nurture.scoring.plots",
    "lift_chart": "nurture.scoring.plots",
    "ScoringPlan": "nurture.scoring.provenance",
    "rank_dormant": "nurture.scoring.ranking",
    "why_none_dormant": "nurture.scoring.ranking",
    "describe_scores": "nurture.scoring.service",
    "evaluate_and_publish": "nurture.scoring.service",
    "plan_scoring": "nurture.scoring.service",
    "predict_values": "nurture.scoring.service",
    "score_database": "nurture.scoring.service",
    "train_from_database": "nurture.scoring.service",
}

__all__ = [
    "CDNOW_AS_OF",
    "CDNOW_CURRENCY",
    "CDNOW_DESCRIPTION",
    "CDNOW_HORIZON_DAYS",
    "HISTORY_FEATURES",
    "LeadData",
    "LeadValueModel",
    "LocalScorer",
    "ScoringPlan",
    "baseline_scores",
    "calibration_chart",
    "decile_table",
    "describe_scores",
    "dormant_at",
    "evaluate",
    "evaluate_and_publish",
    "fit_local",
    "history_features",
    "last_signs",
    "lead_features",
    "lift_chart",
    "load_cdnow",
    "normalized_gini",
    "plan_scoring",
    "predict_values",
    "rank_dormant",
    "read_transactions_csv",
    "registry",
    "score_database",
    "split_at",
    "synthetic_transactions",
    "top_share_capture",
    "train_from_database",
    "why_none_dormant",
    "write_transactions_csv",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home)
    value = module if name == "registry" else getattr(module, name)
    globals()[name] = value  # the next access skips this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
