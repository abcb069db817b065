"""Campaign files: the YAML schema, validation with line numbers, and loading into the DB.

A campaign file (see ``examples/campaigns/``)::

    slug: exhibition                 # [a-z0-9-], used in templates and dedupe keys
    name: {ru: "После выставки", en: "After the exhibition"}
    priority: 20                     # higher wins when touches collide under the cap
    audience:
      event_kinds: [exhibition]      # auto-enrol leads that came from such events
      sources: []                    # ... or from these events (key or name)
      segments: []                   # ... restricted to these lead segments
      where: "country = 'RU'"        # ... and to this filter (nurture.cadence.filters)
    window: {start: "10:00", end: "18:00", days: [mon-fri], holidays: true}
    stop_on: [converted, purchased, replied, unsubscribed, bounced, owner_closed]
    fallback: {after: 5}             # a call/reminder task overdue 5 business days: the
                                     # lead gets <slug>/fallback ("we tried to reach you")
    steps:
      - {name: welcome, day: 0, channel: email}          # day N after enrolment
      - {name: call, after: 2, channel: call, deadline: hard,
         title: {ru: "Позвонить", en: "Call"}}          # N days after the previous step
      - {name: case-study, day: 7, channel: email, when: "segment = 'b2b'"}

A step whose ``when`` is false for a lead is skipped (the lead moves on to the next step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nurture.cadence.filters import FilterError, compile_filter
from nurture.cadence.windows import Window, parse_days, parse_hhmm
from nurture.db.cadence import Campaign, CampaignStep
from nurture.errors import ConfigError

StopRule = Literal["converted", "purchased", "replied", "unsubscribed", "bounced", "owner_closed"]
STOP_RULES: tuple[str, ...] = (
    "converted",
    "purchased",
    "replied",
    "unsubscribed",
    "bounced",
    "owner_closed",
)
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
STEP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}$")
Text = str | dict[str, str]


def text_for(value: Text | None, language: str) -> str:
    """The ``language`` variant of a text that is a string or a ``{ru:, en:}`` mapping."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get(language) or value.get("en") or next(iter(value.values()), "")


def _parsed_filter(value: str | None) -> str | None:
    """A ``where``/``when`` expression, checked by the same parser that later compiles it."""
    if value:
        try:
            compile_filter(value)
        except FilterError as exc:
            raise ValueError(str(exc)) from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(_Strict):
    event_kinds: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    where: str | None = None
    auto_enroll: bool = True

    @field_validator("where")
    @classmethod
    def _where_parses(cls, v: str | None) -> str | None:
        return _parsed_filter(v)


class WindowSpec(_Strict):
    start: str = "10:00"
    end: str = "18:00"
    days: list[str] = Field(default_factory=lambda: ["mon-fri"])
    holidays: bool = True

    @model_validator(mode="after")
    def _valid(self) -> WindowSpec:
        try:
            window = self.to_window()
        except (ValueError, IndexError) as exc:
            raise ValueError(
                "window needs start/end like '09:30' and days like [mon-fri] or [mon, wed]"
            ) from exc
        if window.start >= window.end:
            raise ValueError("window start must be before end")
        if not window.days:
            raise ValueError("window needs at least one day")
        return self

    def to_window(self) -> Window:
        return Window(
            start=parse_hhmm(self.start),
            end=parse_hhmm(self.end),
            days=parse_days(self.days),
            skip_holidays=self.holidays,
        )


class Step(_Strict):
    name: str
    day: int | None = Field(default=None, ge=0, le=3650)
    after: int | None = Field(default=None, ge=0, le=3650)
    channel: Literal["email", "call", "reminder"]
    template: str | None = None
    title: Text | None = None
    instructions: Text | None = None
    deadline: Literal["hard", "recommended"] = "recommended"
    when: str | None = None
    opened_previous: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not STEP_NAME.match(v):
            raise ValueError("step name: lower-case letters, digits, '-' or '_'")
        return v

    @field_validator("when")
    @classmethod
    def _when_parses(cls, v: str | None) -> str | None:
        return _parsed_filter(v)

    @model_validator(mode="after")
    def _one_delay(self) -> Step:
        if (self.day is None) == (self.after is None):
            raise ValueError("give exactly one of 'day' (after enrolment) or 'after' (previous)")
        return self

    @property
    def anchor(self) -> str:
        return "enrolment" if self.day is not None else "previous"

    @property
    def delay_days(self) -> int:
        return self.day if self.day is not None else (self.after or 0)


class Dormant(_Strict):
    """Re-engagement rule: customers silent for ``days`` (no purchase, no reply)."""

    days: int = Field(default=180, ge=1)
    customers_only: bool = True
    max_per_owner_per_week: int | None = Field(default=None, ge=0)
    letter: Text | None = None


class Fallback(_Strict):
    """The e-mail a lead gets when a call or reminder task of this campaign is overdue by
    ``after`` business days of its owner (the owner could not reach them): "we tried to reach
    you, pick a time". Template ``<slug>/fallback`` unless named."""

    after: int = Field(default=5, ge=1, le=60)
    template: str | None = None
    enabled: bool = True


class CampaignSpec(_Strict):
    slug: str
    name: Text
    priority: int = 0
    active: bool = True
    audience: Audience = Field(default_factory=Audience)
    window: WindowSpec = Field(default_factory=WindowSpec)
    stop_on: list[StopRule] = Field(default_factory=lambda: list(STOP_RULES))  # type: ignore[arg-type]
    dormant: Dormant | None = None
    fallback: Fallback = Field(default_factory=Fallback)
    steps: list[Step] = Field(min_length=1)

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("slug: lower-case letters, digits and '-', at most 61 characters")
        return v

    @model_validator(mode="after")
    def _steps(self) -> CampaignSpec:
        names = [s.name for s in self.steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"step names must be unique: {', '.join(dupes)}")
        if self.steps[0].day is None:
            raise ValueError("the first step needs 'day' (days after enrolment)")
        before = [0, *self.nominal_days()]  # the day of the step before each step
        for step, last in zip(self.steps, before, strict=False):
            if step.day is not None and step.day < last:
                raise ValueError(f"step {step.name!r}: day {step.day} is before day {last}")
        return self

    def nominal_days(self) -> list[int]:
        """Each step's day after enrolment on the campaign's own schedule."""
        days: list[int] = []
        last = 0
        for step in self.steps:
            last = step.day if step.day is not None else last + (step.after or 0)
            days.append(last)
        return days

    def template_for(self, step: Step) -> str:
        return step.template or f"{self.slug}/{step.name}"

    def fallback_template(self) -> str:
        return self.fallback.template or f"{self.slug}/fallback"


# ---- YAML with line numbers ------------------------------------------------------------


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """The 1-based line of the YAML node at pydantic error location ``loc``."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    line = key.start_mark.line + 1
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


def parse_campaign(text: str, *, file: str = "<campaign>") -> CampaignSpec:
    """Validate one campaign document; a problem raises ConfigError naming file and line."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", file=file, line=line) from exc
    if not isinstance(data, dict):
        raise ConfigError("a campaign file must be a mapping (slug:, name:, steps:)", file=file)
    try:
        return CampaignSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if isinstance(p, int | str)]
        field = ".".join(str(p) for p in loc) or "campaign"
        msg = err["msg"].removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        raise ConfigError(f"{field}: {msg}{tail}", file=file, line=_line_of(node, loc)) from exc


def read_campaign_file(path: Path) -> CampaignSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read campaign file: {exc.strerror}", file=str(path)) from exc
    return parse_campaign(text, file=str(path))


def save_campaign(session: Session, spec: CampaignSpec) -> tuple[Campaign, bool]:
    """Insert or update the campaign and its steps; returns (campaign, created)."""
    definition = spec.model_dump(mode="json")
    name = text_for(spec.name, "en")
    campaign = session.scalars(select(Campaign).where(Campaign.slug == spec.slug)).one_or_none()
    created = campaign is None
    if campaign is None:
        campaign = Campaign(slug=spec.slug, name=name, priority=spec.priority, definition={})
        session.add(campaign)
    campaign.name = name
    campaign.priority = spec.priority
    campaign.active = spec.active
    campaign.definition = definition
    session.flush()
    existing = {
        s.position: s
        for s in session.scalars(
            select(CampaignStep).where(CampaignStep.campaign_id == campaign.id)
        )
    }
    for position, step in enumerate(spec.steps):
        row = existing.pop(position, None) or CampaignStep(
            campaign_id=campaign.id, position=position
        )
        row.name = step.name
        row.delay_days = step.delay_days
        row.anchor = step.anchor
        row.channel = step.channel
        row.template = spec.template_for(step) if step.channel == "email" else None
        row.conditions = {"when": step.when, "opened_previous": step.opened_previous}
        session.add(row)
    if existing:
        session.execute(
            delete(CampaignStep).where(CampaignStep.id.in_([s.id for s in existing.values()]))
        )
    session.flush()
    return campaign, created


def load_specs(
    session: Session, *, active_only: bool = True
) -> list[tuple[Campaign, CampaignSpec]]:
    """Campaigns in the database with their validated definitions, highest priority first."""
    query = select(Campaign).order_by(Campaign.priority.desc(), Campaign.id)
    if active_only:
        query = query.where(Campaign.active.is_(True))
    out = []
    for campaign in session.scalars(query):
        spec = CampaignSpec.model_validate(campaign.definition)
        out.append((campaign, spec))
    return out
