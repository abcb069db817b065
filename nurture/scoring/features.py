"""As-of features: what was known about each customer or lead on a date, and nothing later.

Every function takes ``as_of`` and first drops rows after it, so a transaction (or an
engagement) dated after ``as_of`` can never change a feature: the no-leakage property that
``tests/scoring/test_features.py`` checks with hypothesis.

Purchase-history features (one row per customer with at least one purchase up to ``as_of``):

* recency, tenure (days since the first purchase), span between first and last purchase;
* frequency (distinct purchase days), lines, quantity;
* monetary value: total, mean and max per purchase day, first and last purchase;
* inter-purchase times: mean, standard deviation, last gap, and how overdue the customer is
  (recency over the mean gap);
* activity in several recency windows (30, 90, 180, 365 days): purchase days and value;
* trend: value in the last 90 days against the 90 days before.

Lead features (from the database, optional): segment, event kind, interest, country, a title
class (student, executive, ...), has a company, and engagement counts up to ``as_of``
(opens, clicks, replies, bounces, touches done) with days since the last engagement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS: tuple[int, ...] = (30, 90, 180, 365)

#: Numeric purchase-history features, in model order.
HISTORY_FEATURES: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "span_days",
    "frequency",
    "n_lines",
    "quantity_total",
    "amount_total",
    "amount_mean",
    "amount_max",
    "amount_first",
    "amount_last",
    "ipt_mean",
    "ipt_std",
    "ipt_last",
    "overdue_ratio",
    "rate_per_year",
    *(f"days_{w}d" for w in WINDOWS),
    *(f"amount_{w}d" for w in WINDOWS),
    "trend_90d",
)

#: Categorical lead attributes (strings; unknown is "").
LEAD_CATEGORICAL: tuple[str, ...] = ("segment", "event_kind", "interest", "country", "title_class")
#: Numeric lead and engagement features.
LEAD_NUMERIC: tuple[str, ...] = (
    "has_company",
    "lead_age_days",
    "opens",
    "clicks",
    "replies",
    "bounces",
    "touches",
    "days_since_engagement",
    "stage",
)
ENGAGEMENT_KINDS: tuple[str, ...] = ("open", "click", "reply", "bounce")

_TITLE_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("student", ("student", "студент", "аспирант", "intern", "стажер", "стажёр")),
    (
        "executive",
        (
            "ceo",
            "cfo",
            "cto",
            "founder",
            "owner",
            "president",
            "директор",
            "владелец",
            "генеральный",
            "chief",
            "vp ",
            "vice president",
        ),
    ),
    ("manager", ("manager", "head", "lead", "менеджер", "руководитель", "начальник")),
    ("engineer", ("engineer", "developer", "инженер", "разработчик", "analyst", "аналитик")),
)


def history_features(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Purchase-history features as of ``as_of`` (rows dated later are ignored).

    Parameters
    ----------
    tx : DataFrame
        A transactions frame (``customer_id, date, amount, quantity``).
    as_of : Timestamp
        The cut: the features are what was known at the end of this day.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (every customer with a purchase up to ``as_of``), with
        the columns :data:`HISTORY_FEATURES` as floats (NaN where undefined, e.g. the
        inter-purchase time of a one-time buyer).
    """
    past = tx.loc[tx["date"] <= as_of, ["customer_id", "date", "amount", "quantity"]]
    if past.empty:
        return pd.DataFrame(
            columns=list(HISTORY_FEATURES), index=pd.Index([], name="customer_id"), dtype=float
        )
    # One row per customer and purchase day.
    daily = (
        past.groupby(["customer_id", "date"], sort=True)
        .agg(amount=("amount", "sum"), quantity=("quantity", "sum"), lines=("amount", "size"))
        .reset_index()
    )
    codes, uniques = pd.factorize(daily["customer_id"], sort=False)
    n = len(uniques)
    age = (as_of - daily["date"]).dt.days.to_numpy(dtype=float)  # days before as_of
    amount = daily["amount"].to_numpy(dtype=float)

    def by_customer(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=n)

    frequency = np.bincount(codes, minlength=n).astype(float)
    first_idx = np.full(n, -1)
    last_idx = np.zeros(n, dtype=int)
    # daily is sorted by customer then date: first/last rows of each customer's run.
    order = np.arange(len(codes))
    last_idx[codes] = order
    first_idx[codes[::-1]] = order[::-1]
    recency = age[last_idx]
    tenure = age[first_idx]
    span = tenure - recency
    total = by_customer(amount)
    amount_max = np.full(n, -np.inf)
    np.maximum.at(amount_max, codes, amount)

    # Inter-purchase gaps within each customer.
    same = codes[1:] == codes[:-1]
    gaps = np.where(same, age[:-1] - age[1:], np.nan)
    gap_codes = codes[1:][same]
    gap_vals = gaps[same]
    n_gaps = np.bincount(gap_codes, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ipt_mean = np.where(n_gaps > 0, span / np.maximum(n_gaps, 1), np.nan)
        sq = np.bincount(gap_codes, weights=gap_vals**2, minlength=n)
        var = np.where(n_gaps > 1, sq / np.maximum(n_gaps, 1) - ipt_mean**2, np.nan)
        ipt_std = np.sqrt(np.clip(var, 0, None))
        ipt_last = np.where(n_gaps > 0, np.nan, np.nan)
        if len(gap_codes):
            last_gap = np.full(n, np.nan)
            last_gap[gap_codes] = gap_vals  # later gaps overwrite earlier ones
            ipt_last = last_gap
        overdue = np.where(n_gaps > 0, recency / np.maximum(ipt_mean, 1.0), np.nan)
        rate = frequency / np.maximum(tenure, 1.0) * 365.0

    data: dict[str, np.ndarray] = {
        "recency_days": recency,
        "tenure_days": tenure,
        "span_days": span,
        "frequency": frequency,
        "n_lines": by_customer(daily["lines"].to_numpy(dtype=float)),
        "quantity_total": by_customer(daily["quantity"].to_numpy(dtype=float)),
        "amount_total": total,
        "amount_mean": total / frequency,
        "amount_max": amount_max,
        "amount_first": amount[first_idx],
        "amount_last": amount[last_idx],
        "ipt_mean": ipt_mean,
        "ipt_std": ipt_std,
        "ipt_last": ipt_last,
        "overdue_ratio": overdue,
        "rate_per_year": rate,
    }
    for w in WINDOWS:
        inside = (age < w).astype(float)
        data[f"days_{w}d"] = by_customer(inside)
        data[f"amount_{w}d"] = by_customer(amount * inside)
    previous_90 = by_customer(amount * ((age >= 90) & (age < 180)).astype(float))
    data["trend_90d"] = np.log1p(data["amount_90d"]) - np.log1p(previous_90)
    return pd.DataFrame(data, index=pd.Index(uniques, name="customer_id"))[list(HISTORY_FEATURES)]


def title_class(title: str | None) -> str:
    """A coarse class of a job title: student, executive, manager, engineer, other, or ""."""
    if not title:
        return ""
    low = f"{title.lower()} "
    for name, words in _TITLE_CLASSES:
        if any(w in low for w in words):
            return name
    return "other"


def lead_features(
    leads: pd.DataFrame,
    as_of: pd.Timestamp,
    engagements: pd.DataFrame | None = None,
    touches: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Lead attributes and engagement up to ``as_of``.

    Parameters
    ----------
    leads : DataFrame
        Columns ``customer_id`` (the lead id as text), ``created_at`` and optionally
        ``segment, event_kind, interest, country, title, company, stage``.
    as_of : Timestamp
        Leads created after it are dropped; engagements and touches after it are ignored.
    engagements : DataFrame, optional
        ``customer_id, kind, occurred_at``.
    touches : DataFrame, optional
        ``customer_id, done_at`` (touches done).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` with :data:`LEAD_CATEGORICAL` (str) and
        :data:`LEAD_NUMERIC` (float) columns.
    """
    created = pd.to_datetime(leads["created_at"]) if "created_at" in leads else None
    frame = leads if created is None else leads[created.to_numpy() <= np.datetime64(as_of)]
    idx = pd.Index(frame["customer_id"].astype(str).to_numpy(dtype=object), name="customer_id")
    out = pd.DataFrame(index=idx)
    for col in ("segment", "event_kind", "interest", "country"):
        if col in frame:
            out[col] = frame[col].fillna("").astype(str).str.strip().str.lower().to_numpy()
        else:
            out[col] = ""
    titles = frame["title"].tolist() if "title" in frame else [None] * len(frame)
    out["title_class"] = [title_class(t) for t in titles]
    out["has_company"] = (
        frame["company"].fillna("").astype(str).str.strip().ne("").to_numpy(dtype=float)
        if "company" in frame
        else 0.0
    )
    if created is not None:
        made = created[created.to_numpy() <= np.datetime64(as_of)]
        out["lead_age_days"] = (as_of - made).dt.days.to_numpy(dtype=float)
    else:
        out["lead_age_days"] = np.nan
    out["stage"] = (
        pd.to_numeric(frame["stage"], errors="coerce").to_numpy(dtype=float)
        if "stage" in frame
        else np.nan
    )
    counts = {k: pd.Series(0.0, index=idx) for k in ENGAGEMENT_KINDS}
    last_seen = pd.Series(np.nan, index=idx)
    if engagements is not None and len(engagements):
        eng = engagements[pd.to_datetime(engagements["occurred_at"]) <= as_of]
        eng = eng.assign(customer_id=eng["customer_id"].astype(str))
        table = eng.groupby(["customer_id", "kind"]).size().unstack(fill_value=0)
        for kind in ENGAGEMENT_KINDS:
            if kind in table:
                counts[kind] = table[kind].reindex(idx, fill_value=0).astype(float)
        latest = pd.to_datetime(eng.groupby("customer_id")["occurred_at"].max())
        last_seen = (as_of - latest).dt.days.astype(float).reindex(idx)
    out["opens"] = counts["open"].to_numpy()
    out["clicks"] = counts["click"].to_numpy()
    out["replies"] = counts["reply"].to_numpy()
    out["bounces"] = counts["bounce"].to_numpy()
    out["days_since_engagement"] = last_seen.to_numpy()
    touched = pd.Series(0.0, index=idx)
    if touches is not None and len(touches):
        done = touches[pd.to_datetime(touches["done_at"]) <= as_of]
        touched = done.groupby(done["customer_id"].astype(str)).size().astype(float)
        touched = touched.reindex(idx, fill_value=0.0)
    out["touches"] = np.asarray(touched, dtype=float)
    return out[list(LEAD_CATEGORICAL) + list(LEAD_NUMERIC)]
