"""The pure rules of privacy: salted hashes that match what intake stores, the needles that
mark a person, redaction, and the event-log skeleton (no database)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nurture.config import DEFAULT_SECRET_KEY, Settings
from nurture.errors import ConfigError
from nurture.mail.blocking import FORGOTTEN, GLOBAL, block_reason
from nurture.privacy.hashing import Salt, contact_digest, normal_contact, salt_from
from nurture.privacy.redact import ERASED, Needles, event_skeleton, mentions, redact

SALT = Salt(b"test-salt")


def test_a_contact_hashes_as_intake_normalises_it() -> None:
    assert normal_contact("email", " Ivan@Mail.RU ") == "ivan@mail.ru"
    assert normal_contact("phone", "8 (900) 123-45-67") == "+79001234567"
    assert normal_contact("email", "ivan@@mail") is None
    typed = contact_digest("email", normal_contact("email", "IVAN@mail.ru") or "", SALT)
    assert typed == contact_digest("email", "ivan@mail.ru", SALT)
    assert re.fullmatch(r"[0-9a-f]{64}", typed)
    assert contact_digest("phone", "ivan@mail.ru", SALT) != typed  # the kind is hashed too
    with pytest.raises(ValueError):
        normal_contact("fax", "1")


def test_the_salt_comes_from_the_setting_or_the_key_and_never_from_the_default_in_production() -> (
    None
):
    own = salt_from(Settings(privacy_salt="s3cret", secret_key="k" * 40))
    assert own == Salt(b"s3cret")
    derived = salt_from(Settings(secret_key="k" * 40))
    assert derived != own and derived == salt_from(Settings(secret_key="k" * 40))
    assert derived.salt_id != salt_from(Settings(secret_key="other" * 8)).salt_id
    assert len(derived.salt_id) == 16 and derived.key not in derived.salt_id.encode()
    with pytest.raises(ConfigError, match="NURTURE_PRIVACY_SALT"):
        salt_from(Settings(env="production", secret_key=DEFAULT_SECRET_KEY))
    assert salt_from(Settings(env="production", privacy_salt="x" * 32)).key == b"x" * 32


PERSON = Needles.of(
    emails=["zq@example.org"],
    phones=["+79165550123"],
    names=[("Иван", "Петров", "Сергеевич"), ("Ann", None, None)],
    typed=["8 (916) 555-01-23"],
    lead_ids=[42],
)


def test_needles_are_the_contacts_their_printed_forms_and_full_names() -> None:
    terms = set(PERSON.terms)
    assert {"zq@example.org", "+79165550123", "79165550123", "8 (916) 555-01-23"} <= terms
    assert {"+7 916 555-01-23", "9165550123"} <= terms
    assert {"иван петров", "петров иван", "петров иван сергеевич", "иван сергеевич"} <= terms
    assert "ann" not in terms and "иван" not in terms  # one name alone marks nobody
    assert not Needles.of(names=[("A", "Li", None)])  # too short to be anyone's mark


def test_redact_takes_out_mentions_and_records_of_the_person() -> None:
    assert PERSON.scrub("call ZQ@Example.org or Петров Иван") == "call [erased] or [erased]"
    digest = {
        "tasks": [
            {"lead": {"id": 42, "full_name": "someone"}, "title": "Call"},
            {"lead": {"id": 7, "full_name": "Olga"}, "title": "Met Иван Петров"},
            {"email": "zq@example.org", "company": "Quux"},
        ],
        "language": "ru",
    }
    assert redact(digest, PERSON) == {
        "tasks": [
            ERASED,
            {"lead": {"id": 7, "full_name": "Olga"}, "title": "Met [erased]"},
            ERASED,
        ],
        "language": "ru",
    }
    assert mentions(digest, PERSON) and not mentions({"lead_id": 7, "n": 3}, PERSON)
    assert redact({"lead_id": 42, "note": "x"}, PERSON) == ERASED


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_redacted_text_never_mentions_the_person(noise: str) -> None:
    text = f"{noise} Петров Иван {noise} +79165550123 {noise.upper()}"
    assert not PERSON.found_in(PERSON.scrub(text))


def test_like_patterns_find_the_term_as_sqlite_lowers_it_and_as_json_writes_it() -> None:
    patterns = Needles.of(names=[("Иван", "Петров", None)], emails=["a_b@x.org"]).like_patterns()
    assert "%Иван Петров%" in patterns  # SQLite's lower() leaves Cyrillic as typed
    assert "%иван петров%" in patterns
    escaped = json.dumps("иван петров")[1:-1].replace("\\", "\\\\")
    assert f"%{escaped}%" in patterns
    assert "%a\\_b@x.org%" in patterns  # LIKE's wildcards in the term are escaped


def test_event_skeleton_keeps_what_analytics_reads() -> None:
    assert event_skeleton({"from": "a", "to": "b", "reason": "Петров Иван said no"}, PERSON) == {
        "from": "a",
        "to": "b",
    }
    assert event_skeleton({"document_id": 3, "to": "zq@example.org"}, PERSON) == {"document_id": 3}
    assert event_skeleton({"note": "x"}, PERSON) is None
    assert event_skeleton(None, PERSON) is None


def test_nothing_is_sent_to_a_forgotten_address_of_any_kind() -> None:
    scopes = {GLOBAL: FORGOTTEN}
    for kind in ("marketing", "digest", "system"):
        assert block_reason(kind=kind, campaign=None, scopes=scopes, lead=None) == (
            "suppressed (forgotten)"
        )
    assert (
        block_reason(kind="digest", campaign=None, scopes={GLOBAL: "unsubscribe"}, lead=None)
        is None
    )
