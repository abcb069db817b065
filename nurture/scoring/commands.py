"""``nurture score ...``: train, score, rank dormant leads, predict and evaluate on files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.errors import InputError
from nurture.text import count

score_app = typer.Typer(
    help="Lead value: rank dormant leads by predicted value; train, evaluate, publish models.",
    no_args_is_help=True,
)

AsOfOption = typer.Option(
    None, "--as-of", help="Use data up to this date (YYYY-MM-DD); default: today (UTC)."
)
TransactionsOption = typer.Option(
    ...,
    "--transactions",
    help="CSV with columns customer_id,date,amount and optionally quantity.",
    dir_okay=False,
)
HorizonOption = typer.Option(182, "--horizon-days", min=1, help="Days of future value.")


def _date(value: str | None, option: str = "--as-of") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (use YYYY-MM-DD)", param_hint=option
        ) from None


def _models_dir() -> Path:
    from nurture.config import get_settings

    return Path(get_settings().models_dir)


def _fmt(metric: dict[str, Any] | None, pct: bool = False) -> str:
    if not metric or metric.get("value") is None:
        return "-"
    v, lo, hi = metric["value"], metric.get("low"), metric.get("high")
    if pct:
        return f"{v:+.1%} [{lo:+.1%}, {hi:+.1%}]" if lo is not None else f"{v:+.1%}"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None else f"{v:.3f}"


def _print_report(report: dict[str, Any]) -> None:
    typer.echo(
        f"as of {report['as_of']}, next {report['horizon_days']} days:"
        f" {report['customers']:,} customers, actual total {report['actual_total']:,.2f},"
        f" predicted {report['predicted_total']:,.2f}"
    )
    header = f"{'method':<20} {'norm. Gini':<22} {'top-10% capture':<22} {'Spearman':<22}"
    header += f" {'AUC buys again':<22} total error"
    typer.echo(header)
    for name, m in report["methods"].items():
        typer.echo(
            f"{name:<20} {_fmt(m.get('normalized_gini')):<22}"
            f" {_fmt(m.get('top10_capture')):<22} {_fmt(m.get('spearman')):<22}"
            f" {_fmt(m.get('buys_again_auc')):<22} {_fmt(m.get('total_error'), pct=True)}"
        )
    typer.echo("decile calibration (model):")
    typer.echo(f"{'decile':>6} {'customers':>9} {'predicted':>10} {'actual':>10} {'lift':>6}")
    for row in report["deciles"]["model"]:
        typer.echo(
            f"{row['decile']:>6} {row['customers']:>9} {row['predicted_mean']:>10.2f}"
            f" {row['actual_mean']:>10.2f} {row['lift']:>6.2f}"
        )
    for line in report.get("verdict", []):
        typer.echo(f"- {line}")
    for note in report.get("notes", []):
        typer.echo(f"note: {note}")


@score_app.command("predict")
def predict_command(
    transactions: Path = TransactionsOption,
    as_of: str = typer.Option(..., "--as-of", help="Fit on rows up to this date only."),
    horizon_days: int = HorizonOption,
    out: Path = typer.Option(..., "--out", help="Where to write the predictions CSV."),
    json_out: bool = JsonOption,
) -> None:
    """Fit on the file's rows up to --as-of and write customer_id,predicted_value,p_purchase
    for every customer seen up to that date."""
    from nurture.scoring.data import read_transactions_csv
    from nurture.scoring.model import LeadValueModel

    when = _date(as_of)
    tx = read_transactions_csv(transactions)
    history = tx[tx["date"] <= str(when)]
    if history.empty:
        raise InputError(
            f"no transactions on or before {when}", file=str(transactions), field="date"
        )
    model = LeadValueModel(horizon_days=horizon_days).fit(history, str(when))
    pred = model.predict(history, str(when))
    out.parent.mkdir(parents=True, exist_ok=True)
    pred.to_csv(out, index=False, float_format="%.4f")
    summary = {
        "customers": len(pred),
        "predicted_total": round(float(pred["predicted_value"].sum()), 2),
        "out": str(out),
        "as_of": str(when),
        "horizon_days": horizon_days,
    }
    if json_out:
        print_json(summary)
    else:
        typer.echo(
            f"wrote {len(pred):,} predictions to {out}"
            f" (expected total over {horizon_days} days: {summary['predicted_total']:,.2f})"
        )


@score_app.command("evaluate")
def evaluate_command(
    transactions: Path = TransactionsOption,
    as_of: str = typer.Option(..., "--as-of", help="Fit on rows up to this date only."),
    horizon_days: int = HorizonOption,
    n_boot: int = typer.Option(200, "--n-boot", min=10, help="Bootstrap resamples for CIs."),
    publish: bool = typer.Option(
        False, "--publish", help="Also publish the evaluated model into the models directory."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Fit as `predict` does, then compare with RFM quintile, recency-only and
    BG/NBD x Gamma-Gamma baselines fitted in the same run (metrics with bootstrap CIs)."""
    from nurture.scoring.data import read_transactions_csv, to_timestamp
    from nurture.scoring.evaluation import evaluate
    from nurture.scoring.service import evaluate_and_publish

    when = to_timestamp(str(_date(as_of)))
    tx = read_transactions_csv(transactions)
    try:
        if publish:
            published, report = evaluate_and_publish(
                tx,
                as_of=when,
                horizon_days=horizon_days,
                source=transactions.name,
                models_dir=_models_dir(),
                n_boot=n_boot,
            )
            report["published_version"] = published.version
        else:
            _, report = evaluate(tx, when, horizon_days, n_boot=n_boot)
    except InputError as exc:
        exc.file = exc.file or str(transactions)
        raise
    if json_out:
        print_json(report)
    else:
        _print_report(report)
        if publish:
            typer.echo(f"published version {report['published_version']}")


@score_app.command("cdnow-export")
def cdnow_export_command(
    out: Path = typer.Option(..., "--out", help="Where to write the CDNOW transactions CSV."),
    customers: int | None = typer.Option(
        None, "--customers", min=1, help="A reproducible random subsample of customers."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Write the CDNOW reference cohort (shipped in the `lifetimes` package, eval extra) as
    customer_id,date,amount,quantity, for `score evaluate`."""
    from nurture.scoring.data import load_cdnow, write_transactions_csv

    tx = load_cdnow(customers)
    rows = write_transactions_csv(tx, out)
    people = int(tx.customer_id.nunique())
    if json_out:
        print_json({"out": str(out), "transactions": rows, "customers": people})
    else:
        typer.echo(f"wrote {count(rows, 'transaction')} of {count(people, 'customer')} to {out}")


@score_app.command("train")
def train_command(
    as_of: str | None = AsOfOption,
    horizon_days: int = HorizonOption,
    n_boot: int = typer.Option(
        100, "--n-boot", min=10, help="Bootstrap resamples of the backtest in the card."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Train on the database's purchases, leads and engagement and publish a new version
    (models/lead-value/<version>/, and `current` points at it)."""
    from nurture.scoring.service import train_from_database

    with cli_session() as session:
        published, card = train_from_database(
            session=session,
            models_dir=_models_dir(),
            as_of=_date(as_of),
            horizon_days=horizon_days,
        )
    payload = {
        "version": published.version,
        "path": str(published.path),
        "training": published.card.get("training"),
        "verdict": card.get("evaluation", {}).get("verdict", []),
        "notes": card.get("notes", []),
    }
    if json_out:
        print_json(payload)
    else:
        t = payload["training"] or {}
        typer.echo(
            f"published lead-value {published.version} at {published.path}:"
            f" {t.get('train_examples')} training examples, {t.get('scored_at_as_of')}"
            f" known at {t.get('as_of')}"
        )
        for line in payload["verdict"] + payload["notes"]:
            typer.echo(f"- {line}")


@score_app.command("leads")
def score_leads_command(
    as_of: str | None = AsOfOption,
    batch_size: int = typer.Option(50_000, "--batch-size", min=1, help="Leads per batch."),
    version: str | None = typer.Option(None, "--version", help="Model version (default: current)."),
    json_out: bool = JsonOption,
) -> None:
    """Score every lead with the current model and store the scores (table lead_scores)."""
    from nurture.scoring.service import score_database

    with cli_session() as session:
        result = score_database(
            session=session,
            models_dir=_models_dir(),
            as_of=_date(as_of),
            batch_size=batch_size,
            version=version,
        )
    if json_out:
        print_json(result)
    else:
        typer.echo(
            f"scored {result['scored']:,} leads with lead-value {result['model_version']}"
            f" (predicted total {result['predicted_total']:,.2f})"
        )


@score_app.command("rank")
def rank_command(
    dormant_days: int = typer.Option(
        180, "--dormant-days", min=0, help="No activity, purchase, click or reply for this long."
    ),
    top: int = typer.Option(100, "--top", min=1, help="How many leads to list."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Dormant leads, highest predicted value first (the latest score of each lead)."""
    from nurture.scoring.store import rank_dormant

    with cli_session() as session:
        rows = rank_dormant(session=session, dormant_days=dormant_days, top=top, now=parse_now(now))
    if json_out:
        print_json({"dormant_days": dormant_days, "leads": rows})
        return
    if not rows:
        typer.echo("no scored dormant leads (run `nurture score leads` first?)")
        return
    typer.echo(f"{'#':>4} {'lead':>8} {'value':>10} {'p(buy)':>7}  name / company")
    for r in rows:
        who = " / ".join(str(x) for x in (r["name"] or r["email"], r["company"]) if x)
        typer.echo(
            f"{r['rank']:>4} {r['lead_id']:>8} {r['predicted_value']:>10,.2f}"
            f" {r['p_purchase']:>7.3f}  {who}"
        )


@score_app.command("models")
def models_command(json_out: bool = JsonOption) -> None:
    """List published lead-value versions and the current one."""
    from nurture.errors import NotFoundError
    from nurture.scoring import registry

    root = _models_dir()
    versions = registry.list_versions(root)
    try:
        current: str | None = registry.current_version(root)
    except NotFoundError:
        current = None
    if json_out:
        print_json({"models_dir": str(root), "versions": versions, "current": current})
        return
    for v in versions:
        typer.echo(f"{'*' if v == current else ' '} {v}")
    if not versions:
        typer.echo(f"no versions in {registry.model_root(root)}")


def register(app: typer.Typer) -> None:
    """Add ``nurture score ...`` to the root app."""
    app.add_typer(score_app, name="score")


__all__ = ["register", "score_app"]
