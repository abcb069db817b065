"""`nurture score predict/evaluate/cdnow-export/models` on files (no database needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nurture.cli import app

from .conftest import AS_OF, HORIZON

runner = CliRunner()
AS_OF_TEXT = AS_OF.date().isoformat()


def test_predict_writes_every_customer_seen_up_to_as_of(
    synthetic: pd.DataFrame, synthetic_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app,
        [
            "score",
            "predict",
            "--transactions",
            str(synthetic_csv),
            "--as-of",
            AS_OF_TEXT,
            "--horizon-days",
            str(HORIZON),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    pred = pd.read_csv(out, dtype={"customer_id": str})
    assert list(pred.columns) == ["customer_id", "predicted_value", "p_purchase"]
    seen = set(synthetic.loc[synthetic["date"] <= AS_OF, "customer_id"])
    assert set(pred["customer_id"]) == seen
    assert summary["customers"] == len(seen)
    assert pred["predicted_value"].sum() == pytest.approx(summary["predicted_total"], rel=1e-3)


@pytest.mark.slow
def test_evaluate_json_has_model_and_baselines(synthetic_csv: Path) -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "evaluate",
            "--transactions",
            str(synthetic_csv),
            "--as-of",
            AS_OF_TEXT,
            "--horizon-days",
            str(HORIZON),
            "--n-boot",
            "20",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["methods"]) == {"model", "rfm_quintile", "recency_only", "bgnbd_gamma_gamma"}
    gini = report["methods"]["model"]["normalized_gini"]
    assert gini["low"] <= gini["value"] <= gini["high"]
    assert len(report["deciles"]["model"]) == 10


@pytest.mark.slow
def test_evaluate_human_output_and_publish(synthetic_csv: Path, models_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "evaluate",
            "--transactions",
            str(synthetic_csv),
            "--as-of",
            AS_OF_TEXT,
            "--horizon-days",
            str(HORIZON),
            "--n-boot",
            "10",
            "--publish",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bgnbd_gamma_gamma" in result.stdout and "decile" in result.stdout
    listing = runner.invoke(app, ["score", "models", "--json"])
    models = json.loads(listing.stdout)
    assert models["current"] in models["versions"] and len(models["versions"]) == 1


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [
                ["customer_id", "date", "amount"],
                ["a", "2023-01-01", "10"],
                ["b", "2023-13-45", "5"],
            ],
            'row 3, column "date"',
        ),
        ([["customer_id", "date", "amount"], ["a", "2023-01-01", "ten"]], 'row 2, column "amount"'),
        ([["customer_id", "day", "amount"], ["a", "2023-01-01", "10"]], "missing column date"),
        (
            [["customer_id", "date", "amount"], ["", "2023-01-01", "10"]],
            'row 2, column "customer_id"',
        ),
    ],
)
def test_bad_file_is_one_line_naming_file_row_field(
    tmp_path: Path, rows: list[list[str]], expected: str
) -> None:
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = runner.invoke(
        app,
        [
            "score",
            "predict",
            "--transactions",
            str(path),
            "--as-of",
            "2023-06-30",
            "--horizon-days",
            "30",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith(f"nurture: {path}") and expected in message
    assert "Traceback" not in result.output and len(message.splitlines()) == 1


def test_evaluate_needs_data_after_the_window(synthetic_csv: Path) -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "evaluate",
            "--transactions",
            str(synthetic_csv),
            "--as-of",
            "2023-12-01",
            "--horizon-days",
            "182",
        ],
    )
    assert result.exit_code == 2
    assert "before the end of the evaluation window" in result.stderr


def test_cdnow_export_subsample(tmp_path: Path) -> None:
    pytest.importorskip("lifetimes")
    out = tmp_path / "cdnow.csv"
    result = runner.invoke(
        app, ["score", "cdnow-export", "--out", str(out), "--customers", "50", "--json"]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert frame["customer_id"].nunique() == 50
    assert list(frame.columns) == ["customer_id", "date", "amount", "quantity"]
