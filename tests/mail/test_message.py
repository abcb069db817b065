"""The hand-built MIME parses like the standard library's, for any subject and body."""

from __future__ import annotations

import email
from email import policy

from hypothesis import example, given, settings
from hypothesis import strategies as st

from nurture.mail.message import MessageBuilder, encode_header_value, format_address

BUILDER = MessageBuilder(sender_email="hello@nurture.example", sender_name="Отдел продаж")


def _parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def _build(**kw: object) -> bytes:
    args: dict[str, object] = {
        "to_addr": "ivan@example.ru",
        "subject": "Иван, спасибо, что посетили выставку «Иннопром»",
        "html": "<p>Здравствуйте!</p>",
        "text": "Здравствуйте!",
        "message_id": "<touch.1.sample.1.0@nurture.local>",
        "list_unsubscribe": ["mailto:u@nurture.example?subject=x", "https://n.example/u/T"],
    }
    args.update(kw)
    return BUILDER.build(**args)  # type: ignore[arg-type]


def test_headers_are_7bit_folded_and_decode_back() -> None:
    data = _build()
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    for line in head.split(b"\r\n"):  # URIs cannot be folded: List-Unsubscribe may be longer
        assert len(line) <= (998 if b"<mailto:" in line or b"<https:" in line else 78), line
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF everywhere
    msg = _parse(data)
    assert msg["Subject"] == "Иван, спасибо, что посетили выставку «Иннопром»"
    assert msg["From"].addresses[0].display_name == "Отдел продаж"
    assert msg["Message-ID"] == "<touch.1.sample.1.0@nurture.local>"


def test_rfc8058_headers_and_both_parts() -> None:
    msg = _parse(_build())
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    uris = [u.strip() for u in str(msg["List-Unsubscribe"]).split(",")]
    assert uris == ["<mailto:u@nurture.example?subject=x>", "<https://n.example/u/T>"]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_no_list_unsubscribe_for_digests() -> None:
    msg = _parse(_build(list_unsubscribe=()))
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None


def test_header_injection_is_impossible() -> None:
    msg = _parse(_build(subject="hi\r\nBcc: victim@example.com"))
    assert msg["Bcc"] is None
    assert "Bcc" in msg["Subject"]


def test_addresses() -> None:
    assert format_address("a@пример.рф") == "a@xn--e1afmkfd.xn--p1ai"
    assert format_address("a@b.c", 'Smith, "J"') == '"Smith, \\"J\\"" <a@b.c>'
    assert encode_header_value("short") == "short"


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=200),
    text=st.text(st.characters(exclude_categories=("Cs",)), max_size=600),
    html=st.text(st.characters(exclude_categories=("Cs",)), max_size=600),
)
@example(subject="", text="\r", html="a\n\n")  # line breaks only; a trailing blank line
def test_any_content_round_trips(subject: str, text: str, html: str) -> None:
    msg = _parse(_build(subject=subject, text=text, html=html))
    assert msg["Subject"] == " ".join(subject.split())
    plain, rich = list(msg.iter_parts())

    def norm(s: str) -> str:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        return s if not s or s.endswith("\n") else s + "\n"

    # exactly the text, line ends normalised and a final one added: blank lines at the end
    # (or a body of line breaks only) survive
    assert plain.get_content().replace("\r\n", "\n") == norm(text)
    assert rich.get_content().replace("\r\n", "\n") == norm(html)
