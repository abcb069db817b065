"""Automated steps shipped as examples (entry points ``nurture.playbooks.example_steps:...``).

An entry point takes one argument, the step's context (``deal``, ``lead``, ``outcome`` of
the deal's done actions, ``now`` and ``idempotency_key``), and returns a JSON object; the
keys the playbook action ``sets`` become deal fields (exit conditions and document
templates read them). Raising an exception is a failed attempt: it is retried with backoff.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nurture.playbooks.calendar import BusinessCalendar

#: List prices per unit by product, and the business days production needs per order.
UNIT_PRICES = {"crm": 25_000.0, "analytics": 40_000.0, "default": 30_000.0}
BASE_LEAD_DAYS = 10


def _number(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def price_and_delivery(context: dict[str, Any]) -> dict[str, Any]:
    """Price and delivery date of an order: quantity (the qualification's ``quantity``
    outcome, else 1) times the product's unit price, with a volume discount (5% from 10
    units, 10% from 50, 15% from 200), delivered after 10 business days plus one per 50
    units, counted in Moscow business days (weekends and Russian holidays skipped)."""
    outcome = context.get("outcome") or {}
    deal = context.get("deal") or {}
    lead = context.get("lead") or {}
    quantity = max(1, int(_number(outcome.get("quantity"), 1)))
    product = str(outcome.get("product") or lead.get("interest") or "default").strip().lower()
    unit = UNIT_PRICES.get(product, UNIT_PRICES["default"])
    discount = (
        0.15 if quantity >= 200 else 0.10 if quantity >= 50 else 0.05 if quantity >= 10 else 0.0
    )
    price = round(quantity * unit * (1 - discount), 2)
    now = datetime.fromisoformat(context["now"]) if context.get("now") else datetime.now(UTC)
    calendar = BusinessCalendar(tz="Europe/Moscow", country="RU")
    days = BASE_LEAD_DAYS + quantity // 50
    delivery = calendar.add_days(now, days).astimezone(calendar.zone).date()
    return {
        "price": price,
        "unit_price": unit,
        "quantity": quantity,
        "discount": discount,
        "currency": deal.get("currency") or "RUB",
        "delivery_date": delivery.isoformat(),
        "product": product if product != "default" else None,
    }
