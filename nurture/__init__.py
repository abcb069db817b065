"""Nurture: no lead is ever forgotten."""

__version__ = "0.1.0"
