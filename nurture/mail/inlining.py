"""CSS inlining once per message *shape*, not once per message.

css-inline parses, matches selectors and re-serialises the whole document (about as much CPU
as rendering both templates). What it does depends on the document's tags and attributes,
while a campaign's messages differ only in the values printed by ``{{ ... }}``. So the HTML
template is rendered with each printed value replaced by a marker (the *skeleton*); the
skeleton is inlined once, cached, and each message substitutes its values into the cached
result, serialised exactly as css-inline would have serialised them.

Equivalence holds when the values cannot change what css-inline does; everything else is
inlined per message (correct, just not cached):

* the template chain (the template and what it extends) uses no construct that feeds
  rendered output back into logic or filters (``filter``/``set``/``macro``/``call`` blocks,
  ``include``/``import``, ``super()``, ``self``, ``caller``, autoescape changes);
* a value becomes a marker only if it is plain text (``Markup`` stays literal in the
  skeleton, so it is part of the cache key), has a non-blank character (so blank values, which
  the HTML parser treats differently in tables, stay literal too), and contains no CR, NUL or
  leading newline (the parser rewrites those);
* every marker sits in text (not in ``<style>``/``<script>``-like raw text, not right after
  an ``&`` that could start an entity) or inside a quoted attribute value other than
  ``class``, ``id`` and ``style``, and then only if the CSS has no attribute selector,
  ``:lang()`` or ``:dir()``.

``tests/mail/test_inlining.py`` compares both ways byte for byte on every shipped template.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from jinja2 import Environment, Template, nodes, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import escape

__all__ = ["CachingInliner", "finalize"]

_OPEN, _CLOSE = "\ue000", "\ue001"
_MARK = re.compile("\ue000([0-9]+)\ue001")
_RAW_TEXT = ("style", "script", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext")
_TOKEN = re.compile(
    r"<!--.*?-->|<![^>]*>|</[A-Za-z][^>]*>"
    r"|<([A-Za-z][^\s/>]*)((?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*/?>",
    re.S,
)
_ATTR = re.compile(r"\s+([^\s\"'>/=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style", re.S | re.I)
_ENTITY_START = re.compile(r"&[#A-Za-z0-9]*$")  # a value could complete an entity
_TAG_START = re.compile(r"<[/!?-]*$")  # ... or a tag, comment or processing instruction
_TAG_LIKE = re.compile(r"<[A-Za-z/!?]")  # the parser sees a tag the scanner did not match
_UNSAFE_NODES = (
    nodes.FilterBlock,
    nodes.AssignBlock,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.EvalContextModifier,
)
_UNSAFE_NAMES = frozenset({"super", "self", "caller", "varargs", "kwargs"})


class _Inliner(Protocol):
    def inline(self, html: str) -> str: ...


@dataclass
class _Recording:
    values: list[str] = field(default_factory=list)
    poisoned: bool = False


_recording: ContextVar[_Recording | None] = ContextVar("nurture_inline_recording", default=None)


@pass_eval_context
def finalize(_ctx: EvalContext, value: Any) -> Any:
    """The sandboxed environment's ``finalize``: ``None`` prints as nothing; while a skeleton
    is rendered, a plain value becomes a marker (and is remembered).

    Taking the eval context stops Jinja from finalizing constants at compile time, so no
    marker is ever compiled into a template."""
    if value is None:
        return ""
    rec = _recording.get()
    if rec is None or hasattr(value, "__html__"):
        return value
    text = str(value)
    if _OPEN in text or _CLOSE in text:
        rec.poisoned = True
        return value
    if not text.strip() or text[0] == "\n" or "\r" in text or "\x00" in text:
        return value
    rec.values.append(text)
    return f"{_OPEN}{len(rec.values) - 1}{_CLOSE}"


def render_merged(template: Template, context: dict[str, Any]) -> str:
    """``template.render(context)`` for a ``context`` that already holds the template's
    globals: Jinja uses it as is instead of merging globals into two fresh copies per render
    (for a short e-mail, the copies cost more than the template). Jinja never writes to it."""
    try:
        ctx = template.new_context(context, shared=True)
        return template.environment.concat(template.root_render_func(ctx))
    except Exception:
        template.environment.handle_exception()


def _text_escape(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("\xa0", "&nbsp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _attr_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace('"', "&quot;")


@dataclass(frozen=True)
class _Cached:
    """An inlined skeleton cut at its markers: parts[0] v0 parts[1] v1 ... parts[n]."""

    parts: tuple[str, ...]
    order: tuple[int, ...]
    in_attr: tuple[bool, ...]


_DIRECT = None  # this skeleton is inlined per message


def _contexts(skeleton: str, n: int) -> dict[int, bool] | None:
    """marker index -> True (quoted attribute value) / False (text), or None when a marker
    sits anywhere the equivalence is not guaranteed."""
    found: dict[int, bool] = {}
    attrs_used = False

    def text_markers(text: str) -> bool:
        if _OPEN in text and _TAG_LIKE.search(text):
            return False
        for m in _MARK.finditer(text):
            if (
                _ENTITY_START.search(text, 0, m.start())
                or _TAG_START.search(text, 0, m.start())
                or int(m.group(1)) in found
            ):
                return False
            found[int(m.group(1))] = False
        return True

    pos = 0
    while pos < len(skeleton):
        tok = _TOKEN.search(skeleton, pos)
        end = tok.start() if tok else len(skeleton)
        if not text_markers(skeleton[pos:end]):
            return None
        if tok is None:
            break
        name, attrs = tok.group(1), tok.group(2)
        if name is None:  # comment, doctype, end tag: no marker allowed inside
            if _OPEN in tok.group(0):
                return None
            pos = tok.end()
            continue
        if _OPEN in name:
            return None
        for a in _ATTR.finditer(attrs or ""):
            attr, dq, sq, bare = a.groups()
            if _OPEN in attr or (bare and _OPEN in bare):
                return None
            value = dq if dq is not None else sq
            if value and _OPEN in value:
                if attr.lower() in ("class", "id", "style"):
                    return None
                attrs_used = True
                for m in _MARK.finditer(value):
                    if int(m.group(1)) in found:
                        return None
                    found[int(m.group(1))] = True
        pos = tok.end()
        if name.lower() in _RAW_TEXT:  # raw text up to the end tag: no marker allowed
            close = re.compile(f"</{re.escape(name)}", re.I).search(skeleton, pos)
            stop = close.start() if close else len(skeleton)
            if _OPEN in skeleton[pos:stop]:
                return None
            pos = stop
    if sorted(found) != list(range(n)):
        return None
    if attrs_used:
        css = " ".join(_STYLE.findall(skeleton)).lower()
        if "[" in css or ":lang" in css or ":dir" in css or "<link" in skeleton.lower():
            return None
    return found


def chain_is_safe(env: Environment, name: str) -> bool:
    """True when no construct of ``name`` or its parents feeds output back into logic."""
    seen: set[str] = set()
    while name not in seen:
        seen.add(name)
        source = env.loader.get_source(env, name)[0] if env.loader else ""
        tree = env.parse(source, name)
        if any(True for _ in tree.find_all(_UNSAFE_NODES)):
            return False
        if any(ref.name in _UNSAFE_NAMES for ref in tree.find_all(nodes.Name)):
            return False
        parents = list(tree.find_all(nodes.Extends))
        if not parents:
            return True
        parent = parents[0].template
        if len(parents) > 1 or not isinstance(parent, nodes.Const):
            return False
        name = str(parent.value)
    return False


class CachingInliner:
    """Renders an HTML template with its CSS inlined, reusing the inlining of earlier
    messages with the same skeleton (see the module docstring)."""

    MAX_ENTRIES = 512
    #: A template whose first this-many skeletons were mostly new (values left literal that
    #: differ per message) is inlined per message from then on: a miss costs more than that.
    GIVE_UP_AFTER = 64

    def __init__(self, inliner: _Inliner) -> None:
        self.inliner = inliner
        self._safe: dict[str | None, bool] = {}
        self._cache: dict[str, _Cached | None] = {}
        self._misses: dict[str | None, int] = {}
        self._hits: dict[str | None, int] = {}

    def render(self, template: Template, context: dict[str, Any]) -> str:
        """The HTML of ``template`` with CSS inlined; ``context`` holds the template's globals
        (see :func:`render_merged`)."""
        name = template.name
        safe = self._safe.get(name)
        if safe is None:
            safe = self._safe[name] = name is not None and chain_is_safe(template.environment, name)
        if not safe:
            return self.inliner.inline(render_merged(template, context))
        rec = _Recording()
        token = _recording.set(rec)
        try:
            skeleton = render_merged(template, context)
        finally:
            _recording.reset(token)
        values = rec.values
        if rec.poisoned:
            return self.inliner.inline(render_merged(template, context))
        try:
            cached = self._cache[skeleton]
            self._hits[name] = self._hits.get(name, 0) + 1
        except KeyError:
            misses = self._misses[name] = self._misses.get(name, 0) + 1
            if misses >= self.GIVE_UP_AFTER and self._hits.get(name, 0) < misses:
                self._safe[name] = False
            cached = self._compile(skeleton, len(values))
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()
            self._cache[skeleton] = cached
        if cached is None:  # as rendered: each marker back to the escaped value
            return self.inliner.inline(
                _MARK.sub(lambda m: str(escape(values[int(m.group(1))])), skeleton)
            )
        out = [cached.parts[0]]
        for i, attr, part in zip(cached.order, cached.in_attr, cached.parts[1:], strict=True):
            out.append(_attr_escape(values[i]) if attr else _text_escape(values[i]))
            out.append(part)
        return "".join(out)

    def _compile(self, skeleton: str, n: int) -> _Cached | None:
        contexts = _contexts(skeleton, n)
        if contexts is None:
            return _DIRECT
        inlined = self.inliner.inline(skeleton)
        pieces = _MARK.split(inlined)
        order = tuple(int(i) for i in pieces[1::2])
        if sorted(order) != list(range(n)):  # a marker vanished or was duplicated
            return _DIRECT
        return _Cached(
            parts=tuple(pieces[0::2]),
            order=order,
            in_attr=tuple(contexts[i] for i in order),
        )
