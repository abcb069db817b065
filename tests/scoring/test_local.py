"""A scorer fitted on the database's own purchases, and when Nurture uses it instead of the
published model (plain data: no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nurture.scoring.data import normalise_transactions, synthetic_transactions
from nurture.scoring.local import MIN_BUYERS, fit_local, is_local_version
from nurture.scoring.provenance import plan, same_database

AS_OF = pd.Timestamp("2026-12-06")


def rouble_customers() -> pd.DataFrame:
    """The demo's customers (examples/purchases.csv): roubles, few and mostly one-off."""
    rows = [
        ("ivanov", "2025-02-14", 450_000.0),
        ("ivanov", "2025-05-20", 38_000.0),
        ("petrova", "2026-07-21", 1_250_000.0),
        ("kuznetsova", "2025-01-30", 92_000.0),
        ("orlov", "2026-10-15", 15_000.0),
        ("smith", "2025-03-03", 7_800.0),
    ]
    return normalise_transactions(pd.DataFrame(rows, columns=["customer_id", "date", "amount"]))


def values(tx: pd.DataFrame, as_of: pd.Timestamp = AS_OF) -> pd.Series:
    scorer = fit_local(tx, as_of, horizon_days=182)
    return scorer.predict(tx, as_of).set_index("customer_id")["predicted_value"]


def test_few_customers_get_rfm_in_their_own_money() -> None:
    tx = rouble_customers()
    scorer = fit_local(tx, AS_OF)
    assert scorer.method == "rfm" and scorer.version == "local:rfm"
    value = values(tx)
    assert value["petrova"] > value["orlov"]  # 1,250,000 above 15,000
    assert value["kuznetsova"] > value["smith"]
    # In roubles, not in a model's dollars: the biggest customer is worth hundreds of
    # thousands over the next half-year at the rate they bought so far.
    assert value["petrova"] > 100_000
    # Fitted on the database's scale: the same purchases in kopecks rank the same, x100.
    kopecks = tx.assign(amount=tx["amount"] * 100)
    assert np.allclose(values(kopecks), value * 100)


def test_enough_buyers_get_bgnbd_and_the_order_survives_a_change_of_currency() -> None:
    tx = synthetic_transactions(MIN_BUYERS + 100, start="2024-01-01", days=600, seed=11)
    roubles = tx.assign(amount=tx["amount"] * 90.0)
    as_of = pd.Timestamp("2025-06-30")
    scorer = fit_local(roubles, as_of)
    assert scorer.method == "probabilistic" and scorer.bgnbd is not None
    pred = scorer.predict(roubles, as_of)
    assert pred["p_purchase"].between(0, 1).all() and (pred["predicted_value"] >= 0).all()
    dollars, rubles = values(tx, as_of), values(roubles, as_of)
    assert rubles.rank().equals(dollars.rank())
    assert float(rubles.sum() / dollars.sum()) == pytest.approx(90.0, rel=0.02)


def test_one_big_order_outranks_a_small_recent_one() -> None:
    tx = synthetic_transactions(MIN_BUYERS + 50, start="2024-01-01", days=600, seed=2)
    tx = tx.assign(amount=tx["amount"] * 1000.0)
    extra = normalise_transactions(
        pd.DataFrame(
            [("big", "2025-03-01", 1_250_000.0), ("small", "2025-05-20", 15_000.0)],
            columns=["customer_id", "date", "amount"],
        )
    )
    value = values(pd.concat([tx, extra], ignore_index=True), pd.Timestamp("2025-06-30"))
    assert value["big"] > value["small"]


def test_leads_without_purchases_score_zero() -> None:
    tx = rouble_customers()
    scorer = fit_local(tx, AS_OF)
    frame = scorer.features(tx, AS_OF).reindex(["petrova", "never-bought"])
    frame.loc["never-bought", ["frequency", "amount_total"]] = 0.0
    pred = scorer.predict_frame(frame)
    assert pred.loc["never-bought"].tolist() == [0.0, 0.0]
    assert pred.loc["petrova", "predicted_value"] > 0


def test_a_card_trained_here_is_recognised_by_its_fingerprint() -> None:
    here = [f"{i:012x}" for i in range(128)]
    assert same_database(here[:64], here)
    assert same_database(here[:64], here[20:])  # some purchases deleted since
    assert not same_database(here[:64], here[40:])
    assert not same_database([], here)
    assert not same_database(here[:64], [])


def test_the_published_model_is_used_only_where_it_was_trained() -> None:
    db = [f"{i:012x}" for i in range(10)]
    cdnow = {"data": {"source": "cdnow.csv"}, "currency": "USD"}
    trained_here = {"data": {"source": "database", "database_fingerprint": db[:5]}}
    elsewhere = plan(cdnow, "v1", db)
    assert not elsewhere.use_model and not elsewhere.trained_here
    assert elsewhere.note("rfm") == (
        "lead-value v1 was trained on cdnow.csv (USD), not on this database: values from"
        " RFM fitted on this database's purchases until `nurture score train` publishes a"
        " model trained here"
    )
    assert elsewhere.as_dict() == {
        "current_model": "v1",
        "model_trained_here": False,
        "model_trained_on": "cdnow.csv (USD)",
    }
    forced = plan(cdnow, "v1", db, "model")
    assert forced.use_model and "not on this database" in (forced.note("model") or "")
    here = plan(trained_here, "v2", db)
    assert here.use_model and here.note("model") is None
    assert not plan(trained_here, "v2", db, "local").use_model
    nothing = plan(None, None, db)
    assert not nothing.use_model
    assert (nothing.note("probabilistic") or "").startswith(
        "no lead-value model is published: values from BG/NBD x Gamma-Gamma fitted"
    )
    assert is_local_version("local:rfm") and not is_local_version("20261127T034745Z")
