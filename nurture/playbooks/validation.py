"""Validating a playbook file: every problem with its file and line.

Besides the schema (:mod:`nurture.playbooks.spec`), a playbook must make sense as a
process: exits lead to stages that exist, every stage is reachable from the first, every
stage can reach ``won`` or ``lost`` (no loop without a way out), every stage's last exit is
unconditional (a deal never gets stuck), conditions parse and name fields that exist,
actions and escalations name known roles, and documents, e-mails, requests and entry points
exist. All problems are reported at once, each with its line.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nurture.db.leads import LEAD_FIELDS
from nurture.errors import ConfigError
from nurture.playbooks import conditions
from nurture.playbooks.calendar import Duration
from nurture.playbooks.spec import (
    BUILTIN_TARGETS,
    BUILTIN_WHO,
    EMAIL,
    TERMINALS,
    PlaybookSpec,
)
from nurture.routing.yamlfile import check_shape

LEAD_NAMES = {f.name for f in LEAD_FIELDS} | {"id", "status", "owner_id", "created_at"}
Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


class PlaybookError(ConfigError):
    """A playbook file with problems; :attr:`problems` lists each with its line."""

    def __init__(self, file: str, problems: Sequence[Problem]):
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(first.message, file=file, line=first.line)

    def format_message(self) -> str:
        lines = []
        for p in self.problems:
            where = f"{self.file} line {p.line}" if p.line is not None else f"{self.file}"
            lines.append(f"{where}: {p.message}")
        if len(lines) > 1:
            lines[0] += f" ({len(lines)} problems)"
        return "\n".join(lines)


def line_at(node: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (the deepest part that exists)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _loc_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_playbook(
    text: str, *, file: str = "<playbook>", templates_dir: Path | None = None
) -> PlaybookSpec:
    """Validate a playbook's text; raise :class:`PlaybookError` listing every problem."""
    try:  # bounded first, as team and campaign files: PyYAML's composer recurses per level
        check_shape(text, file=file)
    except ConfigError as exc:
        raise PlaybookError(file, [Problem(exc.line, str(exc))]) from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise PlaybookError(file, [Problem(line, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise PlaybookError(file, [Problem(1, "a playbook is a mapping (name:, stages:)")])
    try:
        spec = PlaybookSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, int | str))
            loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function")))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            elif err["type"] == "missing":
                msg = "is required"
            problems.append(Problem(line_at(node, loc), f"{_loc_text(loc)}: {msg}"))
        raise PlaybookError(file, problems) from None
    problems = check(spec, node, templates_dir=templates_dir)
    if problems:
        raise PlaybookError(file, problems)
    return spec


def read_playbook(path: Path, *, templates_dir: Path | None = None) -> tuple[PlaybookSpec, str]:
    """A playbook file's spec and text (the text is what a version stores)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a playbook file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the playbook: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read the playbook: not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=str(path),
        ) from None
    return parse_playbook(text, file=str(path), templates_dir=templates_dir), text


def check(
    spec: PlaybookSpec, node: yaml.Node | None, *, templates_dir: Path | None
) -> list[Problem]:
    """Every problem of a schema-valid playbook as a process (see the module doc)."""
    out: list[Problem] = []

    def problem(loc: Loc, message: str) -> None:
        out.append(Problem(line_at(node, loc), f"{_loc_text(loc)}: {message}"))

    keys = [s.key for s in spec.stages]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            problem(("stages", i, "key"), f"stage {key!r} is defined twice")
        if key in TERMINALS:
            problem(("stages", i, "key"), f"{key!r} is the end of a deal, not a stage name")
    roles = set(spec.roles)
    known_who = set(BUILTIN_WHO) | roles
    _check_documents(spec, problem, roles, templates_dir)
    edges: dict[str, set[str]] = {key: set() for key in keys}
    for si, stage in enumerate(spec.stages):
        at: Loc = ("stages", si)
        action_keys = [a.key for a in stage.actions]
        forms: dict[str, set[str]] = {}
        for ai, action in enumerate(stage.actions):
            here: Loc = (*at, "actions", ai)
            if action.key in action_keys[:ai]:
                problem((*here, "key"), f"action {action.key!r} is defined twice in this stage")
            if action.who not in known_who:
                problem(
                    (*here, "who"),
                    f"unknown role {action.who!r} (owner, supervisor, automated or one of "
                    f"roles: {', '.join(sorted(roles)) or 'none declared'})",
                )
            if ai == 0 and action.after == "previous":
                problem((*here, "after"), "the first action of a stage has no previous action")
            if action.when is not None:
                earlier = {"outcome": set(forms), "deal": spec.deal_fields(), "lead": LEAD_NAMES}
                _check_condition(action.when, earlier, (*here, "when"), problem)
            for name in action.outcome:
                forms.setdefault(name, set()).add(action.key)
            _check_action(spec, action, here, problem, roles, templates_dir)
        scope_fields = {"outcome": set(forms), "deal": spec.deal_fields(), "lead": LEAD_NAMES}
        for ei, ex in enumerate(stage.exits):
            loc: Loc = (*at, "exits", ei)
            if ex.to not in keys and ex.to not in TERMINALS:
                problem(
                    (*loc, "to"), f"no stage {ex.to!r} (stages: {', '.join(keys)}; or won/lost)"
                )
            elif ex.to in keys:
                edges[stage.key].add(ex.to)
            if ex.when is not None:
                _check_condition(ex.when, scope_fields, (*loc, "when"), problem)
        if stage.exits and stage.exits[-1].when is not None:
            problem(
                (*at, "exits", len(stage.exits) - 1),
                "the last exit needs no 'when' (the default), or a deal could get stuck here",
            )
    for ri, rule in enumerate(spec.enter):
        _check_condition(
            rule.when,
            {"outcome": None, "deal": set(), "lead": LEAD_NAMES},
            ("enter", ri, "when"),
            problem,
        )
    _check_graph(spec, edges, problem)
    return out


def _check_graph(spec: PlaybookSpec, edges: dict[str, set[str]], problem: Any) -> None:
    keys = [s.key for s in spec.stages]
    reach: set[str] = set()
    todo = [keys[0]]
    while todo:
        key = todo.pop()
        if key in reach:
            continue
        reach.add(key)
        todo.extend(edges.get(key, ()))
    for i, key in enumerate(keys):
        if key not in reach:
            problem(("stages", i, "key"), f"stage {key!r} is unreachable from {keys[0]!r}")
    ends = {s.key for s in spec.stages if any(e.to in TERMINALS for e in s.exits)}
    changed = True
    while changed:  # stages from which a terminal can be reached
        changed = False
        for key, targets in edges.items():
            if key not in ends and targets & ends:
                ends.add(key)
                changed = True
    for i, key in enumerate(keys):
        if key not in ends and key in reach:
            problem(
                ("stages", i, "exits"),
                f"stage {key!r} never reaches won or lost: a loop with no exit",
            )


def _check_condition(
    text: str, fields: Mapping[str, set[str] | None], loc: Loc, problem: Any
) -> None:
    try:
        cond = conditions.parse(text)
    except conditions.ConditionError as exc:
        problem(loc, f"bad condition: {exc}")
        return
    for space, name in sorted(cond.names):
        allowed = fields.get(space)
        if allowed is not None and name not in allowed:
            where = {
                "outcome": "no action of this stage has that outcome field",
                "deal": "not a deal field (declare it in 'fields' or a step's 'sets')",
                "lead": "not a lead field",
            }[space]
            problem(loc, f"bad condition: {space}.{name}: {where}")


def _check_action(
    spec: PlaybookSpec,
    action: Any,
    here: Loc,
    problem: Any,
    roles: set[str],
    templates: Path | None,
) -> None:
    previous = -1.0
    for li, level in enumerate(action.escalate):
        target, kind = level.target, level.action
        allowed = set(BUILTIN_TARGETS) | roles
        if kind == "notify":
            allowed.discard("next_manager")
        ok = target in allowed or (kind == "notify" and EMAIL.match(target))
        if not ok:
            problem(
                (*here, "escalate", li, kind),
                f"unknown role {target!r} (one of {', '.join(sorted(allowed))}"
                + (" or an e-mail" if kind == "notify" else "")
                + ")",
            )
        length = Duration.parse(level.after).plain().total_seconds()
        if length < previous:
            problem((*here, "escalate", li, "after"), "levels must come in order of 'after'")
        previous = length
    for di, doc in enumerate(action.documents):
        if doc not in spec.documents:
            problem((*here, "documents", di), f"no document {doc!r} in the playbook's documents")
    if action.request is not None and action.request not in spec.requests:
        problem((*here, "request"), f"no request {action.request!r} in the playbook's requests")
    if action.email is not None and templates is not None:
        name = action.email.template
        found = [p for p in (templates / "email").glob(f"{name}.*.txt") if p.parent.is_dir()]
        if not found:
            problem(
                (*here, "email", "template"),
                f"unknown template {name!r} (no templates/email/{name}.<lang>.txt)",
            )
    if action.step is not None and action.step.entry_point is not None:
        module = action.step.entry_point.partition(":")[0]
        try:
            found_spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found_spec = None
        if found_spec is None:
            problem((*here, "step", "entry_point"), f"no Python module {module!r}")


def _check_documents(
    spec: PlaybookSpec, problem: Any, roles: set[str], templates: Path | None
) -> None:
    for key, doc in spec.documents.items():
        for pi, role in enumerate(doc.approvals):
            if role not in {"owner", "supervisor"} | roles:
                problem(
                    ("documents", key, "approvals", pi),
                    f"unknown role {role!r} (owner, supervisor or one of roles)",
                )
        if templates is not None:
            folder = templates / "documents"
            if not list(folder.glob(f"{doc.template}.html")) and not list(
                folder.glob(f"{doc.template}.*.html")
            ):
                problem(
                    ("documents", key, "template"),
                    f"unknown template {doc.template!r} (no templates/documents/"
                    f"{doc.template}.html)",
                )
