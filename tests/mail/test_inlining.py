"""CSS inlining once per message shape gives, byte for byte, what inlining each message gives:
on every shipped template with awkward values, and on templates that must fall back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import css_inline
import pytest
from markupsafe import Markup

from nurture.config import PROJECT_ROOT
from nurture.mail.checking import sample_contexts
from nurture.mail.inlining import CachingInliner
from nurture.mail.templating import get_sandboxed_environment

ROOT = PROJECT_ROOT / "templates"

# values the HTML parser or the serializer treats specially
AWKWARD = [
    "O'Brien & Sons",
    'say "hi" <b>bold</b>',
    "a\xa0b",
    "Иван «Ромашка»",
    "&amp; &lt; &#39;",
    "AT&T",
    "   ",
    "",
    None,
    "\nleading newline",
    "line\r\nbreak",
    "nul\x00here",
    "tab\tand\x1econtrol",
    "marker \ue000 0\ue001",
    Markup("<i>trusted</i>"),
    "x" * 300,
    "https://e.example/u?a=1&b=2",
]


def _direct(html_name: str, context: dict[str, Any], root: Path = ROOT) -> str:
    env = get_sandboxed_environment(root)
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
    return str(inliner.inline(env.get_template(html_name).render(context)))


def _contexts(campaign: str, language: str, extra: dict[str, Any]) -> list[dict[str, Any]]:
    out = [c | extra for c in sample_contexts(campaign, language)]
    full = out[0]
    for i, value in enumerate(AWKWARD):
        lead = full["lead"] | {"first_name": value, "company": AWKWARD[-1 - i], "city": value}
        manager = {"id": 1, "name": value, "email": f"m{i}@ex.ru"} if i % 3 else None
        url = f"https://n.example/unsubscribe/{i}?q={value}" if i % 4 else None
        out.append(full | {"lead": lead, "manager": manager, "unsubscribe_url": url})
    return out


def _shipped() -> list[Path]:
    return sorted(p for p in (ROOT / "email").rglob("*.html") if p.parent != ROOT / "email")


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_cached_inlining_equals_per_message_inlining(path: Path) -> None:
    env = get_sandboxed_environment(ROOT)
    name = path.relative_to(ROOT).as_posix()
    sample = path.parent / "_sample.json"
    extra = json.loads(sample.read_text(encoding="utf-8")) if sample.exists() else {}
    campaign = path.parent.relative_to(ROOT / "email").as_posix()
    contexts = _contexts(campaign, path.stem.rpartition(".")[2], extra)
    cached = CachingInliner(
        css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
    )
    template = env.get_template(name)
    for context in contexts + contexts:  # the second round is served from the cache
        assert cached.render(template, context) == _direct(name, context)
    reused = [c for c in cached._cache.values() if c is not None]
    assert reused, "the shipped templates are meant to be inlined once per shape"
    assert len(cached._cache) < len(contexts)


def _write(root: Path, name: str, body: str) -> None:
    path = root / "email" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


STYLE = "<style>p { color: red } .vip { color: gold } a { color: blue }</style>"
CASES = {
    # fed back into a filter: must never be cached
    "filter": "<p>{% filter upper %}{{ lead.first_name }}{% endfilter %}</p>",
    "set": "{% set n %}{{ lead.first_name }}{% endset %}<p>{{ n | length }}</p>",
    "macro": "{% macro b(x) %}<b>{{ x }}</b>{% endmacro %}<p>{{ b(lead.first_name) | lower }}</p>",
    # values that decide what CSS applies
    "class": '<p class="{{ lead.first_name }}">x</p>',
    "attr-selector": '<style>a[href^="https"] { color: green }</style><a href="{{ url }}">x</a>',
    "raw text": "<style>p { color: {{ lead.first_name }} }</style><p>x</p>",
    "entity": "<p>&{{ lead.first_name }}</p>",
    "tag open": "<p><{{ lead.first_name }}</p>",
    "unquoted": "<a href={{ url }}>x</a>",
    "comment": "<!-- {{ lead.first_name }} --><p>x</p>",
    "pre": "<pre>{{ lead.first_name }}</pre>",
    "table": "<table><tr>{{ lead.first_name }}<td>x</td></tr></table>",
    "plain": '<p>{{ lead.first_name }}</p><a href="{{ url }}">{{ url }}</a>',
}
VALUES = ["vip", "lt;", "b", "John Smith", " ", "\nx", "https://x/?a=1&b=2", "red", "a b"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fallbacks_stay_exact(tmp_path: Path, case: str) -> None:
    _write(tmp_path, "c.html", f"<html><head>{STYLE}</head><body>{CASES[case]}</body></html>")
    env = get_sandboxed_environment(tmp_path)
    cached = CachingInliner(
        css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
    )
    template = env.get_template("email/c.html")
    for value in VALUES + VALUES:
        context = {"lead": {"first_name": value}, "url": value}
        assert cached.render(template, context) == _direct("email/c.html", context, tmp_path)
    if case == "plain":
        assert any(c is not None for c in cached._cache.values())
    if case in ("filter", "set", "macro"):
        assert cached._cache == {}  # never even recorded


def test_a_template_whose_shape_changes_per_message_is_inlined_per_message(
    tmp_path: Path,
) -> None:
    # a Markup value stays literal in the skeleton: every message has its own shape
    _write(tmp_path, "c.html", f"<html><head>{STYLE}</head><body><p>{{{{ v }}}}</p></body></html>")
    env = get_sandboxed_environment(tmp_path)
    cached = CachingInliner(
        css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
    )
    template = env.get_template("email/c.html")
    for i in range(CachingInliner.GIVE_UP_AFTER + 10):
        context = {"v": Markup(f"<b>{i}</b>")}
        assert cached.render(template, context) == _direct("email/c.html", context, tmp_path)
    assert len(cached._cache) == CachingInliner.GIVE_UP_AFTER  # then it stopped caching
