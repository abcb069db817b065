"""The model card beside every published version: what it holds and its Markdown.

``card.json`` is the record (machine-readable); ``README.md`` is rendered from it by
:func:`render_card`. Besides versions, parameters, features, metrics and libraries, every
card states what the model is for (``intended_use``), what it must not be used for
(``limitations``), the money it speaks (``currency``) and the data it learned from
(``data``: source, period, size, SHA-256 and, for a model trained on a database, the
fingerprint that tells Nurture whether it is scoring that same database).
"""

from __future__ import annotations

from typing import Any

DATABASE_SOURCE = "database purchases and leads"
UNSTATED_CURRENCY = "not stated (the amounts as they are in the training data)"


def trained_on_database(card: dict[str, Any]) -> bool:
    """True when the card's data came from a Nurture database (``nurture score train``)."""
    return bool(card.get("data", {}).get("database_fingerprint"))


def intended_use(card: dict[str, Any]) -> str:
    horizon = card.get("parameters", {}).get("horizon_days", "the horizon's")
    use = (
        f"Ranks the leads and customers of the business whose purchases it was trained on by"
        f" the money they are expected to spend over the next {horizon} days, so that sales"
        " re-engage the most valuable dormant ones first (`nurture score leads`,"
        " `nurture score rank`, the cadence's re-engagement campaigns)."
    )
    if trained_on_database(card):
        return use + " Nurture scores with it only the database it was trained on."
    return (
        use + " Trained on a file, not on a Nurture database: a reference for data scientists"
        " (an out-of-time test against baselines, in the metrics below). Nurture does not"
        " score a database with it; it ranks by a method fitted on that database instead"
        " until `nurture score train` publishes a model trained there."
    )


def limitations(card: dict[str, Any]) -> list[str]:
    source = card.get("data", {}).get("source", "its training data")
    currency = card.get("currency") or UNSTATED_CURRENCY
    horizon = card.get("parameters", {}).get("horizon_days", "the horizon's")
    return [
        f"It learned the amounts, buying rhythm and customers of {source} (currency:"
        f" {currency}). On another business or currency its splits on money are meaningless:"
        " the CDNOW reference model (1990s US-dollar CD sales) ranks a customer who spent"
        " 15,000 roubles above one who spent 1,250,000.",
        f"Values are gross purchase amounts over {horizon} days, not margin, not discounted;"
        " the money total is calibrated to BG/NBD x Gamma-Gamma, and the decile table of the"
        " metrics shows where single deciles are over or under-predicted.",
        "A lead with no purchase is valued from its attributes and engagement only (a model"
        " trained on purchase history alone gives them all the same low value).",
        "For prioritising whom to contact first, not for decisions about a person: no"
        " protected attribute is an input, but segment, country and job title can stand in"
        " for one; check the ranking's effect before using it for anything else.",
        "The world moves: retrain when buying changes (`nurture score train`, weekly in"
        " `flows/train_scorer.py`).",
    ]


def complete(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` with the sections every card has (kept where the caller set them)."""
    out = dict(card)
    out.setdefault("currency", UNSTATED_CURRENCY)
    out.setdefault("intended_use", intended_use(out))
    out.setdefault("limitations", limitations(out))
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        v, lo, hi = value.get("value"), value.get("low"), value.get("high")
        if v is None:
            return "n/a"
        return f"{v:.4f} [{lo:.4f}, {hi:.4f}]" if lo is not None and hi is not None else f"{v:.4f}"
    return str(value)


def _training_data(card: dict[str, Any]) -> list[str]:
    data = card.get("data", {})
    lines = ["## Training data", ""]
    if data.get("description"):
        lines += [data["description"], ""]
    lines += [
        f"- source: {data.get('source', 'n/a')}",
        f"- period: {data.get('first_date', 'n/a')} to {data.get('last_date', 'n/a')}",
        f"- transactions: {data.get('transactions', 'n/a')},"
        f" customers: {data.get('customers', 'n/a')}",
        f"- data hash (sha256): `{data.get('sha256', 'n/a')}`",
    ]
    prints = data.get("database_fingerprint") or []
    if prints:
        lines.append(
            f"- database fingerprint: {len(prints)} purchase hashes (tells Nurture it is"
            " scoring the database it was trained on)"
        )
    lines += [f"- {key}: {val}" for key, val in card.get("training", {}).items()]
    return lines


def _metrics(evaluation: dict[str, Any]) -> list[str]:
    lines = [
        "## Metrics against baselines",
        "",
        f"{evaluation.get('description', '')}",
        "",
        f"Customers: {evaluation.get('customers')}, bootstrap resamples:"
        f" {evaluation.get('n_boot')}, intervals at {evaluation.get('level')}.",
        "",
        "| method | normalised Gini | top-10% capture | Spearman | AUC buys again | total error |",
        "|---|---|---|---|---|---|",
    ]
    for name, metrics in evaluation.get("methods", {}).items():
        cells = (
            _fmt(metrics.get(m, "n/a"))
            for m in ("normalized_gini", "top10_capture", "spearman", "buys_again_auc")
        )
        lines.append(
            f"| {name} | {' | '.join(cells)} | {_fmt(metrics.get('total_error', 'n/a'))} |"
        )
    versus = evaluation.get("versus", {})
    if versus:
        lines += [
            "",
            "Paired differences, model minus baseline (same bootstrap resamples):",
            "",
            "| baseline | Gini diff | top-10% diff | Spearman diff | AUC diff |",
            "|---|---|---|---|---|",
        ]
        for name, diffs in versus.items():
            cells = (
                _fmt(diffs.get(m, "n/a"))
                for m in ("normalized_gini", "top10_capture", "spearman", "buys_again_auc")
            )
            lines.append(f"| {name} | {' | '.join(cells)} |")
    if evaluation.get("verdict"):
        lines.append("")
        lines += [f"- {verdict}" for verdict in evaluation["verdict"]]
    return lines


def render_card(card: dict[str, Any]) -> str:
    """The human model card (Markdown) from the JSON card."""
    card = complete(card)
    lines = [
        f"# Model card: {card.get('model')} {card.get('version')}",
        "",
        "Predicts, for each lead or customer as of a date, the purchase value over the next"
        f" {card.get('parameters', {}).get('horizon_days')} days and the probability of any"
        " purchase. Estimator: `nurture.scoring.model.LeadValueModel` (Poisson gradient"
        " boosting + buys-anything classifier, BG/NBD and Gamma-Gamma features, money total"
        " calibrated). Saved with skops (trusted types listed below), never pickle.",
        "",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "## Limitations",
        "",
        *(f"- {item}" for item in card["limitations"]),
        "",
        "## Currency",
        "",
        f"Amounts and predicted values: {card['currency']}. Nurture converts no currency: a"
        " model's values compare only with purchases in the money it was trained on.",
        "",
        *_training_data(card),
        "",
        "## Parameters",
        "",
        *(f"- {k}: {v}" for k, v in card.get("parameters", {}).items()),
        "",
        "## Features",
        "",
        ", ".join(f"`{f}`" for f in card.get("features", [])),
    ]
    if card.get("evaluation"):
        lines += ["", *_metrics(card["evaluation"])]
    lines += ["", "## Libraries", ""]
    lines += [f"- {k}: {v}" for k, v in card.get("libraries", {}).items()]
    lines += ["", "## Artifact", "", f"- file: {card.get('artifact', {}).get('file')}"]
    lines += [f"- trusted type: `{t}`" for t in card.get("artifact", {}).get("trusted_types", [])]
    for note in card.get("notes", []):
        lines.append(f"\nNote: {note}")
    return "\n".join(lines) + "\n"


__all__ = ["complete", "intended_use", "limitations", "render_card", "trained_on_database"]
