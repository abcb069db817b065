"""Render one e-mail (subject, HTML, text) from ``templates/email/<name>.<lang>.{html,txt}``.

The language is the lead's when a variant exists, else ``en``. Both files ``extends`` the
base layouts and define ``{% block subject %}`` and ``{% block body %}``; the subject comes
from the text variant (no HTML escaping), whitespace collapsed: ``email/base.txt`` prints
it first, followed by ``SUBJECT_END``, so one render gives both subject and text. CSS in the
HTML is inlined with css-inline (mail clients drop ``<style>``), once per message shape
(:mod:`nurture.mail.inlining`). Templates run in the
sandboxed environment (marketers author them) and are compiled once per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, Template, TemplateNotFound

from nurture.mail.inlining import CachingInliner, render_merged
from nurture.mail.templating import SUBJECT_END, get_sandboxed_environment

__all__ = ["DEFAULT_LANGUAGE", "Rendered", "Renderer", "TemplateMissingError"]

DEFAULT_LANGUAGE = "en"


class TemplateMissingError(LookupError):
    """No variant of the template exists for the lead's language nor for ``en``."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    language: str


@dataclass(frozen=True)
class _Pair:
    html: Template
    text: Template
    language: str
    globals: dict[str, Any]  # the templates' globals, merged once (see render_merged)


def languages_for(language: str | None) -> list[str]:
    """The languages to try, best first: the lead's, then ``en``."""
    lang = (language or "").strip().lower()[:2]
    return [lang, DEFAULT_LANGUAGE] if lang and lang != DEFAULT_LANGUAGE else [DEFAULT_LANGUAGE]


class Renderer:
    """Renders e-mail templates; cheap to call per message (templates are cached)."""

    def __init__(
        self,
        templates_dir: Path | None = None,
        *,
        environment: Environment | None = None,
        inline_css: bool = True,
    ) -> None:
        self.env = environment or get_sandboxed_environment(templates_dir)
        self._inliner = (
            CachingInliner(
                css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
            )
            if inline_css
            else None
        )
        self._pairs: dict[tuple[str, str], _Pair] = {}

    def resolve(self, name: str, language: str | None) -> _Pair:
        """The compiled (html, text) templates of ``name`` for ``language`` with fallback."""
        key = (name, (language or "").lower())
        pair = self._pairs.get(key)
        if pair is not None:
            return pair
        tried: list[str] = []
        for lang in languages_for(language):
            base = f"email/{name}.{lang}"
            try:
                html = self.env.get_template(base + ".html")
                text = self.env.get_template(base + ".txt")
            except TemplateNotFound as exc:
                tried.append(str(exc.name))
                continue
            merged = {**text.globals, **html.globals}
            pair = _Pair(html=html, text=text, language=lang, globals=merged)
            self._pairs[key] = pair
            return pair
        raise TemplateMissingError(f"template {name!r} not found (tried {', '.join(tried)})")

    def render(self, name: str, language: str | None, context: Mapping[str, Any]) -> Rendered:
        """Subject, HTML (CSS inlined) and text of ``name`` for a lead speaking ``language``."""
        pair = self.resolve(name, language)
        ctx = {**pair.globals, **context}  # both renders share it: Jinja only reads it
        head, sep, text = render_merged(pair.text, ctx).partition(SUBJECT_END)
        if sep:  # base.txt prints the subject block first (one render instead of two)
            subject = " ".join(head.split())
            text = text.lstrip("\n")
        else:
            subject, text = render_block(pair.text, "subject", ctx), head
        if not subject:
            raise ValueError(f"email/{name}.{pair.language}.txt: the subject block is empty")
        if self._inliner is not None:
            html = self._inliner.render(pair.html, ctx)
        else:
            html = render_merged(pair.html, ctx)
        return Rendered(subject=subject, html=html, text=text, language=pair.language)


def render_block(template: Template, block: str, context: dict[str, Any]) -> str:
    """One block of ``template`` alone (e.g. the subject), whitespace collapsed."""
    func = template.blocks.get(block)
    if func is None:
        raise ValueError(f"{template.name}: no {{% block {block} %}}")
    return " ".join("".join(func(template.new_context(context))).split())
