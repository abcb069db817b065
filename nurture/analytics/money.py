"""Money per event and campaign: revenue from purchases, conversions, deals won (and their
amounts, which a conversion with an amount also records as a purchase: they are shown
side by side, never added), and the return per lead met (revenue divided by the leads of
the event or campaign)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from nurture.analytics.funnel import labels


def _rows(leads: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    keys = labels(leads[key])
    grouped = pd.DataFrame(
        {
            "leads": 1,
            "buyers": (leads["purchases"] > 0).astype("int64"),
            "won": leads["converted"].notna().astype("int64"),
            "revenue": leads["revenue"].astype("float64"),
            "deals_won": leads["deals_won"].astype("int64"),
            "deal_amount": leads["deal_amount"].astype("float64"),
        }
    ).groupby(keys.to_numpy())
    sums = grouped.sum()
    out = [
        {
            key: name,
            "leads": int(r["leads"]),
            "won": int(r["won"]),
            "buyers": int(r["buyers"]),
            "revenue": round(float(r["revenue"]), 2),
            "revenue_per_lead": round(float(r["revenue"]) / int(r["leads"]), 2),
            "deals_won": int(r["deals_won"]),
            "deal_amount_won": round(float(r["deal_amount"]), 2),
            "win_rate": round(int(r["won"]) / int(r["leads"]), 4),
        }
        for name, r in sums.iterrows()
    ]
    out.sort(key=lambda r: (-r["revenue"], str(r[key])))
    return out


def revenue(leads: pd.DataFrame) -> dict[str, Any]:
    """Totals, and rows per event and per campaign, highest revenue first."""
    total = float(leads["revenue"].sum()) if len(leads) else 0.0
    return {
        "total": round(total, 2),
        "leads": len(leads),
        "won": int(leads["converted"].notna().sum()) if len(leads) else 0,
        "deals_won": int(leads["deals_won"].sum()) if len(leads) else 0,
        "by_event": _rows(leads, "event") if len(leads) else [],
        "by_campaign": _rows(leads, "campaign") if len(leads) else [],
    }
