"""As-of features: hand-checked values and no leakage from after the cut."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.scoring.data import normalise_transactions
from nurture.scoring.features import history_features, lead_features, title_class

AS_OF = pd.Timestamp("2024-03-31")


def _tx(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return normalise_transactions(
        pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(quantity=1.0)
    )


def test_history_features_by_hand() -> None:
    tx = _tx(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-01", 5.0),  # same day: one purchase day of 15
            ("a", "2024-02-01", 30.0),
            ("a", "2024-03-21", 60.0),
            ("b", "2023-06-01", 100.0),
        ]
    )
    f = history_features(tx, AS_OF)
    a = f.loc["a"]
    assert a["frequency"] == 3 and a["n_lines"] == 4
    assert a["recency_days"] == 10 and a["tenure_days"] == 90 and a["span_days"] == 80
    assert a["amount_total"] == 105 and a["amount_first"] == 15 and a["amount_last"] == 60
    assert a["ipt_mean"] == 40 and a["ipt_last"] == 49
    assert a["days_30d"] == 1 and a["amount_90d"] == 90  # 2024-01-01 is 90 days back
    b = f.loc["b"]
    assert b["frequency"] == 1 and pd.isna(b["ipt_mean"]) and b["amount_365d"] == 100


dates = st.dates(
    min_value=pd.Timestamp("2023-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()
)
rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        dates,
        st.floats(min_value=0, max_value=500, allow_nan=False),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=25, deadline=None)
@given(past=rows, future=rows)
def test_rows_after_as_of_cannot_change_features(past: list, future: list) -> None:
    past_rows = [(c, str(d), a) for c, d, a in past if pd.Timestamp(d) <= AS_OF]
    future_rows = [(c, str(d), a) for c, d, a in future if pd.Timestamp(d) > AS_OF]
    if not past_rows:
        return
    before = history_features(_tx(past_rows), AS_OF)
    after = history_features(_tx(past_rows + future_rows), AS_OF)
    pd.testing.assert_frame_equal(before.sort_index(), after.sort_index())


def test_lead_features_ignore_later_engagement_and_leads() -> None:
    leads = pd.DataFrame(
        {
            "customer_id": ["1", "2"],
            "created_at": pd.to_datetime(["2024-01-01", "2024-06-01"]),
            "segment": ["Student", None],
            "title": ["Студент МГУ", "CEO"],
            "company": ["", "Acme"],
        }
    )
    eng = pd.DataFrame(
        {
            "customer_id": ["1", "1", "1"],
            "kind": ["open", "click", "reply"],
            "occurred_at": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-05-01"]),
        }
    )
    f = lead_features(leads, AS_OF, eng)
    assert list(f.index) == ["1"]  # lead 2 did not exist yet
    row = f.loc["1"]
    assert row["segment"] == "student" and row["title_class"] == "student"
    assert (row["opens"], row["clicks"], row["replies"]) == (1, 1, 0)
    assert row["days_since_engagement"] == 30
    assert row["has_company"] == 0


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Student", "student"),
        ("Генеральный директор", "executive"),
        ("Sales manager", "manager"),
        ("", ""),
        ("Astronaut", "other"),
    ],
)
def test_title_class(title: str, expected: str) -> None:
    assert title_class(title) == expected
