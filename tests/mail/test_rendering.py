"""Rendering: language fallback, strict variables, the sandbox, CSS inlining, and
`template check` reporting file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from nurture.config import PROJECT_ROOT
from nurture.mail.checking import check_templates
from nurture.mail.rendering import Renderer, TemplateMissingError

ROOT = PROJECT_ROOT / "templates"


def _ctx(language: str | None = "ru", **lead: object) -> dict[str, object]:
    return {
        "lead": {"first_name": "Иван", "company": None, "language": language, **lead},
        "manager": {"name": "Анна", "email": "anna@example.ru"},
        "campaign": {"slug": "sample", "name": "Иннопром"},
        "unsubscribe_url": "https://n.example/unsubscribe/T",
        "language": language or "en",
    }


def test_language_fallback_and_inlined_css() -> None:
    r = Renderer(ROOT)
    ru = r.render("sample/welcome", "ru", _ctx())
    assert ru.language == "ru" and ru.subject == "Иван, спасибо, что посетили Иннопром"
    assert "<style" not in ru.html and 'style="' in ru.html  # CSS inlined
    assert "https://n.example/unsubscribe/T" in ru.text and "Анна" in ru.text
    assert not ru.text.startswith("\n") and "None" not in ru.text
    # followup has no Russian variant: a Russian lead gets English; so does an unknown language
    assert r.render("sample/followup", "ru", _ctx()).language == "en"
    assert r.render("sample/welcome", "de", _ctx("de")).language == "en"
    assert r.render("sample/welcome", None, _ctx(None)).language == "en"
    with pytest.raises(TemplateMissingError):
        r.render("sample/nope", "ru", _ctx())


def _write(root: Path, name: str, body: str) -> None:
    path = root / "email" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


@pytest.fixture()
def templates(tmp_path: Path) -> Path:
    for base in ("base.html", "base.txt"):
        _write(tmp_path, base, (ROOT / "email" / base).read_text(encoding="utf-8"))
    return tmp_path


def test_strict_undefined_and_sandbox(templates: Path) -> None:
    _write(
        templates,
        "c/typo.en.txt",
        '{% extends "email/base.txt" %}'
        "{% block subject %}Hi{% endblock %}{% block body %}{{ lead.frist_name }}{% endblock %}",
    )
    _write(templates, "c/typo.en.html", "x")
    _write(
        templates,
        "c/evil.en.txt",
        '{% extends "email/base.txt" %}{% block subject %}x'
        "{% endblock %}{% block body %}{{ lead.__class__.__mro__ }}{% endblock %}",
    )
    _write(templates, "c/evil.en.html", "x")
    r = Renderer(templates)
    with pytest.raises(UndefinedError):
        r.render("c/typo", "en", _ctx())
    with pytest.raises(SecurityError):
        r.render("c/evil", "en", _ctx())


def test_check_reports_file_and_line(templates: Path) -> None:
    _write(
        templates,
        "c/ok.en.html",
        '{% extends "email/base.html" %}\n'
        "{% block subject %}Hi{% endblock %}\n{% block body %}<p>Hi</p>{% endblock %}\n",
    )
    _write(
        templates,
        "c/ok.en.txt",
        '{% extends "email/base.txt" %}\n'
        "{% block subject %}Hi{% endblock %}\n{% block body %}Hi{% endblock %}\n",
    )
    _write(
        templates,
        "c/bad.en.txt",
        '{% extends "email/base.txt" %}\n'
        "{% block subject %}Hi{% endblock %}\n{% block body %}\n\n{{ lead.frist_name }}\n"
        "{% endblock %}\n",
    )
    _write(
        templates,
        "c/bad.en.html",
        '{% extends "email/base.html" %}\n'
        "{% block subject %}Hi{% endblock %}\n{% block body %}\n{% if %}\n{% endblock %}\n",
    )
    _write(
        templates,
        "c/lonely.ru.html",
        '{% extends "email/base.html" %}\n{% block body %}x{% endblock %}\n',
    )
    checked, problems = check_templates(templates)
    assert checked == 5
    found = {(Path(p.file).name, p.line) for p in problems}
    assert ("bad.en.txt", 5) in found  # the undefined variable, at its line
    assert ("bad.en.html", 4) in found  # the syntax error, at its line
    lonely = [p.message for p in problems if p.file.endswith("lonely.ru.html")]
    assert any("lonely.ru.txt" in m for m in lonely)  # its text part is missing
    assert any("subject" in m for m in lonely)  # and it has no subject
    assert not any("ok.en" in p.file for p in problems)


def test_shipped_templates_pass_the_check() -> None:
    checked, problems = check_templates(ROOT)
    assert checked >= 6 and problems == []


def test_sandbox_reads_dict_keys_and_still_refuses_internals(templates: Path) -> None:
    from nurture.mail.templating import get_sandboxed_environment

    env = get_sandboxed_environment(templates)
    lead = {"first_name": "Иван", "items": "not the method"}
    # keys print; a dict's own attributes keep winning over keys, as in plain Jinja
    out = env.from_string("{{ lead.first_name }}|{{ lead.get('first_name') }}|{{ lead['items'] }}")
    assert out.render(lead=lead) == "Иван|Иван|not the method"
    assert env.from_string("{{ lead.items is callable }}").render(lead=lead) == "True"
    with pytest.raises(UndefinedError):
        env.from_string("{{ lead.frist_name }}").render(lead=lead)
    with pytest.raises(SecurityError):
        env.from_string("{{ lead.__class__.__subclasses__() }}").render(lead=lead)
