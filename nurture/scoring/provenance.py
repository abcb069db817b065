"""Which scores a database gets: a published model trained on it, or a method fitted on it.

A model only knows the money and customers it was trained on. ``nurture score train`` keeps
the database's *fingerprint* in the model card (short hashes of its first purchases, which
are never rewritten); a card without one, or with another database's, belongs to a model
trained elsewhere (the committed CDNOW reference, a CSV file). Such a model does not score
this database: :mod:`nurture.scoring.local` fits a method here instead, and every command
says so in one line (``note``; in ``--json`` also ``model_trained_here``).

Plain data in, a :class:`ScoringPlan` out: tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nurture.errors import InputError
from nurture.scoring.card import UNSTATED_CURRENCY

#: Purchases kept in a card's fingerprint; half of them must be found to match.
FINGERPRINT_SIZE = 64
#: ``--method`` choices: ``auto`` uses the model only when it was trained here.
CHOICES = ("auto", "model", "local")
METHOD_NAMES = {
    "model": "the published model",
    "probabilistic": "BG/NBD x Gamma-Gamma",
    "rfm": "RFM",
}


def same_database(card_prints: Sequence[str], database_prints: Sequence[str]) -> bool:
    """True when at least half of the card's purchase hashes are in this database (a few
    deleted purchases, e.g. a person forgotten, do not disown the model)."""
    if not card_prints:
        return False
    here = set(database_prints)
    return 2 * sum(p in here for p in card_prints) >= len(card_prints)


@dataclass(frozen=True)
class ScoringPlan:
    """What ``score leads`` uses and why."""

    use_model: bool
    version: str | None  # the published version considered (current or --version)
    trained_here: bool
    source: str | None  # the card's training data source
    currency: str | None

    def origin(self) -> str:
        """Where the considered model learned, e.g. ``cdnow.csv (USD)``."""
        source = self.source or "unknown data"
        if self.currency and self.currency != UNSTATED_CURRENCY:
            return f"{source} ({self.currency})"
        return source

    def note(self, method: str) -> str | None:
        """One line for the user, or None when the model trained here is used."""
        if self.use_model:
            if self.trained_here:
                return None
            return (
                f"lead-value {self.version} was trained on {self.origin()}, not on this"
                " database: its values are on another scale"
            )
        name = METHOD_NAMES.get(method, method)
        if self.trained_here:
            return f"values from {name} fitted on this database's purchases (--method local)"
        if self.version is None:
            why = "no lead-value model is published"
        else:
            why = f"lead-value {self.version} was trained on {self.origin()}, not on this database"
        return (
            f"{why}: values from {name} fitted on this database's purchases until"
            " `nurture score train` publishes a model trained here"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "current_model": self.version,
            "model_trained_here": self.trained_here,
            "model_trained_on": self.origin() if self.version else None,
        }


def plan(
    card: dict[str, Any] | None,
    version: str | None,
    database_prints: Sequence[str],
    method: str = "auto",
) -> ScoringPlan:
    """Decide between the published model (``card``/``version``, None when there is none)
    and a method fitted on this database."""
    if method not in CHOICES:
        raise InputError(f"unknown method {method!r}: use one of {', '.join(CHOICES)}")
    data = (card or {}).get("data", {})
    here = card is not None and same_database(
        data.get("database_fingerprint") or [], database_prints
    )
    use_model = card is not None and (method == "model" or (method == "auto" and here))
    return ScoringPlan(
        use_model=use_model,
        version=version if card is not None else None,
        trained_here=here,
        source=data.get("source"),
        currency=(card or {}).get("currency"),
    )


__all__ = ["CHOICES", "FINGERPRINT_SIZE", "ScoringPlan", "plan", "same_database"]
