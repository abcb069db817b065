"""``nurture score ...``: train, score, rank dormant leads, predict and evaluate on files."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from nurture.cli_support import JsonOption, NowOption, cli_session, parse_now, print_json
from nurture.errors import InputError
from nurture.text import count

score_app = typer.Typer(
    help="Lead value: rank dormant leads by the money they are expected to spend.\n\n"
    "`score leads` then `score rank` on a database; `score train` publishes a model trained"
    " on it. `score evaluate` and `score predict` work on a transactions file.",
    no_args_is_help=True,
)

AsOfOption = typer.Option(
    None,
    "--as-of",
    metavar="DATE",
    help="Use data up to this date (YYYY-MM-DD); default: today (UTC).",
)
TransactionsOption = typer.Option(
    ...,
    "--transactions",
    metavar="FILE",
    help="CSV with the columns customer_id, date, amount and, optionally, quantity.",
    dir_okay=False,
)
FileAsOfOption = typer.Option(
    ...,
    "--as-of",
    metavar="DATE",
    help="Fit on the rows up to this date (YYYY-MM-DD); later rows are never read.",
)
HorizonOption = typer.Option(
    182, "--horizon-days", metavar="DAYS", min=1, help="Days of future value to predict."
)
CurrencyOption = typer.Option(
    None,
    "--currency",
    metavar="CODE",
    help="The money of the amounts (e.g. RUB, USD), recorded in the model card.",
)


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


@score_app.command(
    "predict",
    help=(
        "Predict each customer's value from a transactions file."
        "\n\n"
        "Fits on the rows up to --as-of and writes one row per customer seen by then: "
        "customer_id, predicted_value (money over --horizon-days) and p_purchase (the "
        "probability of buying anything in that time)."
    ),
)
def predict_command(
    transactions: Path = TransactionsOption,
    as_of: str = FileAsOfOption,
    horizon_days: int = HorizonOption,
    out: Path = typer.Option(
        ..., "--out", metavar="FILE", help="Where to write the predictions (CSV)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Predict each customer's value from a transactions file."""
    from nurture.scoring import predict_values, read_transactions_csv

    when = _date(as_of)
    assert when is not None  # the option is required
    tx = read_transactions_csv(transactions)
    try:
        pred = predict_values(tx, as_of=when, horizon_days=horizon_days)
    except InputError as exc:
        exc.file = exc.file or str(transactions)
        raise
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


@score_app.command(
    "evaluate",
    help=(
        "Test the model out of time against baselines on a transactions file."
        "\n\n"
        "Fits as `score predict` does, then compares with RFM quintiles, recency alone "
        "and BG/NBD x Gamma-Gamma fitted in the same run: every metric with a bootstrap "
        "interval."
    ),
)
def evaluate_command(
    transactions: Path = TransactionsOption,
    as_of: str = FileAsOfOption,
    horizon_days: int = HorizonOption,
    n_boot: int = typer.Option(
        200, "--n-boot", metavar="N", min=10, help="Bootstrap resamples for the intervals."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="Also publish the evaluated model into the models directory."
    ),
    currency: str | None = CurrencyOption,
    json_out: bool = JsonOption,
) -> None:
    """Test the model out of time against baselines on a transactions file."""
    from nurture.scoring import evaluate, evaluate_and_publish, read_transactions_csv
    from nurture.scoring.data import to_timestamp

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
                currency=currency,
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


@score_app.command(
    "cdnow-export",
    help=(
        "Write the CDNOW reference cohort as a transactions file."
        "\n\n"
        "CDNOW (US-dollar CD sales, 1997-1998) ships in the `lifetimes` package (eval "
        "extra); the file has the columns customer_id, date, amount, quantity, for "
        "`score evaluate`."
    ),
)
def cdnow_export_command(
    out: Path = typer.Option(
        ..., "--out", metavar="FILE", help="Where to write the CDNOW transactions (CSV)."
    ),
    customers: int | None = typer.Option(
        None, "--customers", metavar="N", min=1, help="A reproducible random subsample."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Write the CDNOW reference cohort as a transactions file."""
    from nurture.scoring import load_cdnow, write_transactions_csv

    tx = load_cdnow(customers)
    rows = write_transactions_csv(tx, out)
    people = int(tx.customer_id.nunique())
    if json_out:
        print_json({"out": str(out), "transactions": rows, "customers": people})
    else:
        typer.echo(f"wrote {count(rows, 'transaction')} of {count(people, 'customer')} to {out}")


@score_app.command(
    "train",
    help=(
        "Train on this database and publish a new model version."
        "\n\n"
        "Learns from the purchases, leads and engagement up to --as-of, writes "
        "models/lead-value/<version>/ with its model card and makes it current."
    ),
)
def train_command(
    as_of: str | None = AsOfOption,
    horizon_days: int = HorizonOption,
    n_boot: int = typer.Option(
        100, "--n-boot", metavar="N", min=10, help="Bootstrap resamples of the backtest."
    ),
    currency: str | None = CurrencyOption,
    json_out: bool = JsonOption,
) -> None:
    """Train on this database and publish a new model version."""
    from nurture.scoring import train_from_database

    with cli_session() as session:
        published, card = train_from_database(
            session=session,
            models_dir=_models_dir(),
            as_of=_date(as_of),
            horizon_days=horizon_days,
            n_boot=n_boot,
            currency=currency,
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


class Method(StrEnum):
    """``score leads --method``."""

    auto = "auto"
    model = "model"
    local = "local"


METHOD_HELP = (
    "auto: the published model if it was trained on this database, else a method fitted"
    " here; model: the published model anyway; local: a method fitted here."
)


@score_app.command(
    "leads",
    help=(
        "Score every lead and store the scores (table lead_scores)."
        "\n\n"
        "Uses the current model when it was trained on this database; otherwise BG/NBD "
        "x Gamma-Gamma or RFM fitted on this database's purchases, and says so."
    ),
)
def score_leads_command(
    as_of: str | None = AsOfOption,
    batch_size: int = typer.Option(
        50_000, "--batch-size", metavar="N", min=1, help="Leads per batch."
    ),
    version: str | None = typer.Option(
        None, "--version", metavar="VERSION", help="Model version (default: current)."
    ),
    method: Method = typer.Option(Method.auto, "--method", help=METHOD_HELP),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Score every lead and store the scores (table lead_scores), stamped --now; --as-of
    defaults to its day."""
    from nurture.scoring import score_database
    from nurture.scoring.provenance import METHOD_NAMES

    chosen = "model" if version is not None and method is Method.auto else method.value
    with cli_session() as session:
        moment = parse_now(now)
        result = score_database(
            session=session,
            models_dir=_models_dir(),
            as_of=_date(as_of) or moment.date(),
            batch_size=batch_size,
            version=version,
            method=chosen,
            scored_at=moment,
        )
    if json_out:
        print_json(result)
        return
    used = (
        f"lead-value {result['model_version']}"
        if result["method"] == "model"
        else f"{METHOD_NAMES[result['method']]} fitted on this database"
    )
    typer.echo(
        f"scored {count(result['scored'], 'lead')} with {used}"
        f" (predicted total {result['predicted_total']:,.2f})"
    )
    if result["note"]:
        typer.echo(f"note: {result['note']}")


@score_app.command(
    "rank",
    help=(
        "Dormant leads, highest predicted value first."
        "\n\n"
        "Ranks the leads that can be re-engaged (open, customers, lost) and have been "
        "silent for --dormant-days, whenever they were imported, by their latest score."
    ),
)
def rank_command(
    dormant_days: int = typer.Option(
        180,
        "--dormant-days",
        metavar="DAYS",
        min=0,
        help="Silent this long: no purchase, click, reply or recorded activity.",
    ),
    top: int = typer.Option(100, "--top", metavar="N", min=1, help="How many leads to list."),
    now: str | None = NowOption,
    json_out: bool = JsonOption,
) -> None:
    """Dormant leads, highest predicted value first."""
    from nurture.scoring import describe_scores, rank_dormant, why_none_dormant

    when = parse_now(now)
    with cli_session() as session:
        rows = rank_dormant(session=session, dormant_days=dormant_days, top=top, now=when)
        source = describe_scores(
            session=session,
            models_dir=_models_dir(),
            versions={r["model_version"] for r in rows},
        )
        reason = (
            None if rows else why_none_dormant(session=session, dormant_days=dormant_days, now=when)
        )
    if json_out:
        print_json({"dormant_days": dormant_days, "leads": rows, **source, "reason": reason})
        return
    if reason:
        typer.echo(f"no dormant leads to rank: {reason}")
        return
    if source["note"]:
        typer.echo(f"note: {source['note']}")
    typer.echo(f"{'#':>4} {'lead':>8} {'value':>14} {'p(buy)':>7} {'silent':>7}  name / company")
    for r in rows:
        who = " / ".join(str(x) for x in (r["name"] or r["email"], r["company"]) if x)
        silent = "-" if r["silent_days"] is None else f"{r['silent_days']}d"
        typer.echo(
            f"{r['rank']:>4} {r['lead_id']:>8} {r['predicted_value']:>14,.2f}"
            f" {r['p_purchase']:>7.3f} {silent:>7}  {who}"
        )


@score_app.command("models")
def models_command(json_out: bool = JsonOption) -> None:
    """List the published model versions; * marks the current one."""
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
