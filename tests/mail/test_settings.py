"""Settings the mail capability reads: a value that cannot work is one line naming the
setting, exit 2, the password masked; never a traceback (issue 16, item 6). Also the
signing-key warning and refusal of `nurture send` and `nurture web` (item 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mail_support import add_leads, free_port, queue_messages
from sqlalchemy import select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import get_settings
from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope
from nurture.errors import ConfigError
from nurture.mail import SmtpConfig, mask_url

PASSWORD = "s3cr3t-Pa55"
runner = CliRunner()

BAD_SMTP_URLS = {
    f"smtp://u:{PASSWORD}@127.0.0.1:notaport": "port 'notaport'",
    f"smtp://u:{PASSWORD}@127.0.0.1:99999": "port '99999'",
    f"smtp://u:{PASSWORD}@127.0.0.1:0": "port '0'",
    f"smtp://u:{PASSWORD}@[::1:2999": "is not a URL",
    f"http://u:{PASSWORD}@mail.example:25": "must start with smtp:// or smtps://",
    f"u:{PASSWORD}@mail.example:25": "must start with smtp://",
    f"smtp://u:{PASSWORD}@:25": "names no host",
    f"smtp://u:{PASSWORD}@mail.example:25?connections=abc": "connections='abc'",
    f"smtp://u:{PASSWORD}@mail.example:25?connections=0": "connections='0'",
    f"smtp://u:{PASSWORD}@mail.example:25?connections=5000": "above 100",
    f"smtp://u:{PASSWORD}@mail.example:25?rate=-1": "rate='-1'",
    f"smtp://u:{PASSWORD}@mail.example:25?timeout=nan": "timeout='nan'",
    f"smtp://u:{PASSWORD}@mail.example:25?starttls=maybe": "starttls='maybe'",
    f"smtp://u:{PASSWORD}@mail.example:25?conections=2": "unknown option 'conections'",
    f"smtps://u:{PASSWORD}@mail.example?starttls=true": "implicit TLS and STARTTLS",
    f"smtp://u:{PASSWORD}@mail.example:25/inbox": "has a path",
}


def _cli(*args: str) -> tuple[int, str, str, BaseException | None]:
    result = runner.invoke(app, list(args))
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout, result.stderr, exc


def _set(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"NURTURE_{name.upper()}", value)
    get_settings.cache_clear()


def _one_line_exit_2(args: tuple[str, ...], *needles: str) -> str:
    code, out, err, exc = _cli(*args)
    assert exc is None, f"{args}: {type(exc).__name__}: {exc}"  # never a traceback
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("nurture: "), err
    for needle in needles:
        assert needle in err, (needle, err)
    assert PASSWORD not in out + err
    return err


@pytest.mark.parametrize("url", list(BAD_SMTP_URLS))
def test_a_bad_smtp_url_is_one_line_naming_the_setting(
    url: str, monkeypatch: pytest.MonkeyPatch, fresh_db: str
) -> None:
    _set(monkeypatch, smtp_url=url)
    for command in (("send",), ("outbox", "status")):
        _one_line_exit_2(command, "NURTURE_SMTP_URL", BAD_SMTP_URLS[url])
    with pytest.raises(ConfigError) as caught:
        SmtpConfig.from_url(url)
    assert PASSWORD not in str(caught.value)


def test_good_smtp_urls_and_masking() -> None:
    c = SmtpConfig.from_url("smtp://us%40er:p%3Ass@mail.example:587?starttls=true&connections=2")
    assert (c.host, c.port, c.username, c.password, c.start_tls) == (
        "mail.example",
        587,
        "us@er",
        "p:ss",
        True,
    )
    v6 = SmtpConfig.from_url("smtp://[::1]:2525?timeout=2.5&rate=10&verify=false")
    assert (v6.server, v6.timeout, v6.rate, v6.validate_certs) == ("[::1]:2525", 2.5, 10.0, False)
    assert SmtpConfig.from_url("smtps://relay.example/").port == 465
    # the password is masked whole even when it holds the characters that end a user part
    assert mask_url("smtp://u:p@ss/w:rd@host:25?x=1") == "smtp://u:***@host:25?x=1"
    assert mask_url("smtp://host:25") == "smtp://host:25"
    assert mask_url("smtp://user@host:25") == "smtp://user@host:25"
    assert mask_url("u:p@ss@host:25") == "u:***@host:25"  # no scheme: still masked


@pytest.mark.parametrize(
    "public_url",
    ["not a url", "ftp://files.example", "http://", "https://x.example/?q=1", "http://h:99999"],
)
def test_a_bad_public_url_is_one_line(
    public_url: str, monkeypatch: pytest.MonkeyPatch, fresh_db: str
) -> None:
    _set(monkeypatch, public_url=public_url)
    _one_line_exit_2(("send",), "NURTURE_PUBLIC_URL")


@pytest.mark.parametrize("setting", ["sender_email", "unsubscribe_mailto"])
@pytest.mark.parametrize("value", ["nobody", "ivan@", "Иван@пример.рф", "a@b.c, d@e.f"])
def test_a_bad_sender_address_is_one_line(
    setting: str, value: str, monkeypatch: pytest.MonkeyPatch, fresh_db: str
) -> None:
    """Before, a sender address that cannot be encoded made every message 'failed_perm'."""
    _set(monkeypatch, **{setting: value})
    _one_line_exit_2(("send",), f"NURTURE_{setting.upper()}")


def test_a_dkim_key_that_cannot_be_used_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_db: str
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    text = tmp_path / "text.pem"
    text.write_text("hello")
    cases = {
        str(tmp_path / "missing.pem"): "No such file",
        str(tmp_path): "Is a directory",
        str(text): "is not a PEM private key",
        str(garbage): "cannot sign",
    }
    for path, reason in cases.items():
        _set(monkeypatch, dkim_key_file=path)
        _one_line_exit_2(("send",), "NURTURE_DKIM_KEY_FILE", reason)


def test_an_outbox_dir_that_is_a_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("not a folder")
    _set(monkeypatch, outbox_dir=str(blocker))
    _one_line_exit_2(("send",), "NURTURE_OUTBOX_DIR", "not a directory")


# -- the default signing key ---------------------------------------------------------------


def test_send_warns_loudly_with_the_default_key(fresh_db: str, monkeypatch) -> None:
    monkeypatch.delenv("NURTURE_SECRET_KEY")
    get_settings.cache_clear()
    code, _, err, exc = _cli("send")
    assert exc is None and code == 0, err
    assert "WARNING: nurture send runs with the default NURTURE_SECRET_KEY" in err


def test_send_refuses_to_start_in_production_with_the_default_key(
    fresh_db: str, monkeypatch
) -> None:
    monkeypatch.delenv("NURTURE_SECRET_KEY")
    _set(monkeypatch, env="production")
    with session_scope() as s:
        ids = add_leads(s, ["p@example.com"])
        queue_messages(s, ids, ["p@example.com"])
    _one_line_exit_2(("send",), "refuses to start in production", "NURTURE_SECRET_KEY")
    with session_scope() as s:
        assert s.scalar(select(OutboxMessage.status)) == "queued"  # nothing was sent
    assert not list(Path(get_settings().outbox_dir).glob("*.eml"))
    _set(monkeypatch, secret_key="a-long-random-production-key-0123456789")
    code, _, err, _ = _cli("send")
    assert code == 0 and "WARNING" not in err


def test_web_refuses_in_production_and_warns_elsewhere(
    monkeypatch, tmp_path: Path, fresh_db: str
) -> None:
    monkeypatch.delenv("NURTURE_SECRET_KEY")
    _set(monkeypatch, env="production")
    _one_line_exit_2(("serve",), "nurture serve refuses to start in production")
    _one_line_exit_2(("web",), "nurture serve refuses to start in production")  # the alias
    # development: it starts, with the warning first (a real uvicorn, stopped at once)
    env = {k: v for k, v in os.environ.items() if k not in ("NURTURE_ENV", "NURTURE_SECRET_KEY")}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nurture.cli", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "WARNING: nurture serve runs with the default NURTURE_SECRET_KEY" in first
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
