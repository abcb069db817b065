"""Charts for notebooks and reports: decile lift and calibration (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nurture.scoring.metrics import decile_table


def lift_chart(actual: ArrayLike, scores: Mapping[str, ArrayLike], ax: Any = None) -> Any:
    """Share of next-period value captured by each predicted decile, one bar group per
    method (decile 1 = highest scores)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 4))[1]
    width = 0.8 / max(len(scores), 1)
    for i, (name, score) in enumerate(scores.items()):
        table = decile_table(actual, score)
        ax.bar(
            table["decile"] + i * width - 0.4 + width / 2,
            table["actual_share"],
            width=width,
            label=name,
        )
    ax.set_xlabel("predicted decile (1 = highest)")
    ax.set_ylabel("share of actual value")
    ax.set_xticks(range(1, 11))
    ax.set_title("Decile lift")
    ax.legend()
    return ax


def calibration_chart(actual: ArrayLike, predicted: ArrayLike, ax: Any = None) -> Any:
    """Mean predicted against mean actual value per predicted decile (log scale)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 5))[1]
    table = decile_table(actual, predicted)
    ax.plot(table["predicted_mean"], table["actual_mean"], "o-", label="deciles")
    top = float(np.nanmax([table["predicted_mean"].max(), table["actual_mean"].max(), 1.0]))
    low = float(max(np.nanmin([table["predicted_mean"].min(), table["actual_mean"].min()]), 0.1))
    ax.plot([low, top], [low, top], "k--", linewidth=1, label="perfect")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mean predicted value")
    ax.set_ylabel("mean actual value")
    ax.set_title("Calibration by decile")
    ax.legend()
    return ax
