"""Unsubscribe tokens: they round-trip, and any change to them is detected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nurture.mail.tokens import InvalidTokenError, make_token, read_token

emails = st.emails().map(str.lower)


@given(
    email=emails,
    lead=st.none() | st.integers(1, 10**9),
    campaign=st.none() | st.text("abc-", min_size=1),
)
def test_round_trip(email: str, lead: int | None, campaign: str | None) -> None:
    token = make_token(email, secret="s3cret", lead_id=lead, campaign=campaign)
    data = read_token(token, secret="s3cret")
    assert (data.email, data.lead_id, data.campaign) == (email, lead, campaign)
    assert token.isascii() and "/" not in token and "+" not in token


@given(email=emails, position=st.integers(0, 200), char=st.sampled_from("AbZ9-_"))
def test_any_edit_is_rejected(email: str, position: int, char: str) -> None:
    token = make_token(email, secret="s3cret", lead_id=7)
    i = position % len(token)
    edited = token[:i] + char + token[i + 1 :]
    if edited == token:
        return
    with pytest.raises(InvalidTokenError):
        read_token(edited, secret="s3cret")


def test_another_key_is_rejected() -> None:
    with pytest.raises(InvalidTokenError):
        read_token(make_token("a@b.c", secret="one"), secret="two")
