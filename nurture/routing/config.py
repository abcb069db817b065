"""The team file (``examples/team.yaml``): teams, managers, supervisors, absences, rules.

Validated with pydantic; every problem becomes one :class:`~nurture.errors.ConfigError`
naming the file and the line, e.g.
``team.yaml line 14: teams[0].managers[1].weight: must be >= 0 (got -1)``, and a file with
several problems raises :class:`~nurture.routing.yamlfile.ConfigProblems` listing them all.
Sizes are bounded (:mod:`nurture.routing.yamlfile` for the file itself, the fields below
for what the database columns hold).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from nurture.errors import ConfigError
from nurture.routing.rules import CONDITION_FIELDS, LIST_FIELDS
from nurture.routing.yamlfile import ConfigProblems, check_shape, syntax_error

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Bounds of a team file, within what the database columns hold.
MAX_NAME = 200
MAX_ITEMS = 1_000  # teams, managers of a team, rules, absences, values of a list
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
Value = Annotated[str, StringConstraints(max_length=MAX_NAME)]
Values = Annotated[list[Value], Field(max_length=MAX_ITEMS)]
HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


# ----------------------------------------------------------------- YAML with line numbers


class LineDict(dict[Any, Any]):
    line: int = 0
    lines: dict[Any, int]


class LineList(list[Any]):
    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    """Safe loader that remembers lines and reads only true/false as booleans (so the
    country code NO stays "NO")."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest node of ``loc`` that exists in ``data``."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lines[part]
            node = node[part]
        else:
            break
        inner = getattr(node, "line", None)
        if isinstance(node, LineDict | LineList) and inner is not None and part is loc[-1]:
            line = line or inner
    return line


def _loc_text(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ----------------------------------------------------------------- schema


def check_timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Moscow)") from None
    return v


def check_hours(v: str) -> str:
    v = v.replace(" ", "")
    start, _, end = v.partition("-")
    if not HOURS_RE.match(v) or start >= end:
        raise ValueError(f"{v!r} is not like 09:00-18:00")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


def _str_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str | int | float):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) for v in value]
    return value


class AbsenceSpec(_Strict):
    starts_on: date = Field(alias="from")
    ends_on: date = Field(alias="to")
    reason: Value | None = None

    @model_validator(mode="after")
    def _order(self) -> AbsenceSpec:
        if self.ends_on < self.starts_on:
            raise ValueError(f"'to' {self.ends_on} is before 'from' {self.starts_on}")
        return self


class PersonSpec(_Strict):
    name: Name
    email: str
    timezone: Value | None = None
    work_hours: Value | None = None
    languages: Values = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        v = v.strip().lower()
        if len(v) > 320 or not EMAIL_RE.match(v):
            raise ValueError(f"{v!r} is not an e-mail address")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @field_validator("work_hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        return None if v is None else check_hours(v)

    @field_validator("languages", mode="before")
    @classmethod
    def _langs(cls, v: Any) -> Any:
        return [s.lower() for s in _str_list(v)] if v is not None else []


class ManagerSpec(PersonSpec):
    weight: float = Field(default=1.0, ge=0, le=1_000)
    weekly_capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    countries: Values = Field(default_factory=list)
    cities: Values = Field(default_factory=list)
    products: Values = Field(default_factory=list)
    segments: Values = Field(default_factory=list)
    absences: list[AbsenceSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    active: bool = True

    @field_validator("countries", "cities", "products", "segments", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _str_list(v)

    @field_validator("countries")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        for c in v:
            if not re.fullmatch(r"[A-Za-z]{2}", c):
                raise ValueError(f"{c!r} is not a two-letter country code (ISO 3166-1)")
        return [c.upper() for c in v]


class TeamSpec(_Strict):
    name: Name
    supervisor: PersonSpec | None = None
    fallback: bool = False
    managers: list[ManagerSpec] = Field(min_length=1, max_length=MAX_ITEMS)


class Conditions(_Strict):
    country: Values = Field(default_factory=list)
    city: Values = Field(default_factory=list)
    language: Values = Field(default_factory=list)
    interest: Values = Field(default_factory=list)
    company: Values = Field(default_factory=list)
    segment: Values = Field(default_factory=list)
    event_kind: Values = Field(default_factory=list)
    score_min: float | None = Field(default=None, ge=0, le=1)
    score_max: float | None = Field(default=None, ge=0, le=1)

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _str_list(v)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in CONDITION_FIELDS:
            value = getattr(self, name)
            if value not in (None, []):
                out[name] = value
        return out


class RuleSpec(_Strict):
    name: Name
    when: Conditions = Field(default_factory=Conditions)
    team: Value | None = None
    manager: Annotated[str, StringConstraints(max_length=320)] | None = None

    @model_validator(mode="after")
    def _target(self) -> RuleSpec:
        if (self.team is None) == (self.manager is None):
            raise ValueError("give exactly one of 'team' or 'manager'")
        if self.manager is not None:
            self.manager = self.manager.strip().lower()
        return self


class Defaults(_Strict):
    timezone: Value = "Europe/Moscow"
    work_hours: Value = "09:00-18:00"
    weekly_capacity: int = Field(default=50, ge=0, le=1_000_000)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("work_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        return check_hours(v)


class TeamFile(_Strict):
    defaults: Defaults = Field(default_factory=Defaults)
    teams: list[TeamSpec] = Field(min_length=1, max_length=MAX_ITEMS)
    rules: list[RuleSpec] = Field(default_factory=list, max_length=MAX_ITEMS)
    kind: Literal["team"] | None = None

    def fallback_team(self) -> TeamSpec:
        marked = [t for t in self.teams if t.fallback]
        return marked[0] if marked else self.teams[-1]


# ----------------------------------------------------------------- loading


def _cross_check(spec: TeamFile, data: Any, file: str) -> list[ConfigError]:
    """Checks across sections (names unique, rule targets exist), each with its line."""
    problems: list[ConfigError] = []

    def fail(msg: str, loc: tuple[int | str, ...]) -> None:
        problems.append(ConfigError(f"{_loc_text(loc)}: {msg}", file=file, line=line_of(data, loc)))

    names: set[str] = set()
    emails: dict[str, tuple[int | str, ...]] = {}
    for ti, t in enumerate(spec.teams):
        if t.name in names:
            fail(f"team {t.name!r} is defined twice", ("teams", ti, "name"))
        names.add(t.name)
        people: list[tuple[str, tuple[int | str, ...]]] = [
            (m.email, ("teams", ti, "managers", mi, "email")) for mi, m in enumerate(t.managers)
        ]
        if t.supervisor is not None:
            people.append((t.supervisor.email, ("teams", ti, "supervisor", "email")))
        for email, loc in people:
            if email in emails:
                fail(f"{email} appears twice (first at {_loc_text(emails[email])})", loc)
            else:
                emails[email] = loc
    fallbacks = [i for i, t in enumerate(spec.teams) if t.fallback]
    for extra in fallbacks[1:]:
        fail("only one team can be the fallback", ("teams", extra, "fallback"))
    for ri, r in enumerate(spec.rules):
        if r.team is not None and r.team not in names:
            fail(f"team {r.team!r} is not defined in teams", ("rules", ri, "team"))
        if r.manager is not None and r.manager not in emails:
            fail(f"manager {r.manager!r} is not defined in teams", ("rules", ri, "manager"))
    return problems


def _problem(err: ErrorDetails, data: Any, file: str) -> ConfigError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function")))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown field (allowed: {_allowed(loc)})"
    elif err["type"] == "missing":
        msg = "is required"
    elif "input" in err and err["type"] not in ("value_error",):
        shown = repr(err["input"])
        msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return ConfigError(f"{_loc_text(loc)}: {msg}", file=file, line=line_of(data, loc))


def _raise(problems: list[ConfigError]) -> None:
    problems.sort(key=lambda p: p.line or 0)
    if len(problems) == 1:
        raise problems[0]
    raise ConfigProblems(problems)


def parse_team_file(text: str, *, file: str = "team.yaml") -> TeamFile:
    """Validate a team file's text; raise ConfigError naming ``file`` and the line (or
    ConfigProblems listing every problem, each with its line)."""
    check_shape(text, file=file)
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise syntax_error(exc, file=file) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'teams' (and 'rules')", file=file, line=1)
    try:
        spec = TeamFile.model_validate(data)
    except ValidationError as exc:
        _raise([_problem(err, data, file) for err in exc.errors()])
    problems = _cross_check(spec, data, file)
    if problems:
        _raise(problems)
    return spec


def _allowed(loc: tuple[int | str, ...]) -> str:
    parent = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = TeamFile
    mapping: dict[str, type[BaseModel]] = {
        "teams": TeamSpec,
        "managers": ManagerSpec,
        "supervisor": PersonSpec,
        "absences": AbsenceSpec,
        "rules": RuleSpec,
        "when": Conditions,
        "defaults": Defaults,
    }
    if parent:
        model = mapping.get(parent[-1], TeamFile)
    return ", ".join(f.alias or name for name, f in model.model_fields.items())


def load_team_file(path: str | Path) -> TeamFile:
    """Read and validate a team file (ConfigError naming the file when it cannot)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not a UTF-8 text file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the team file: {exc.strerror}", file=str(path)) from None
    return parse_team_file(text, file=p.name)
