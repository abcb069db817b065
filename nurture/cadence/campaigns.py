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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nurture.cadence.filters import FilterError, compile_filter, filter_size
from nurture.cadence.guard import CampaignGuard
from nurture.cadence.windows import Window, parse_days, parse_hhmm
from nurture.db.cadence import Campaign, CampaignStep
from nurture.errors import ConfigError
from nurture.routing.yamlfile import ConfigProblems, check_shape, syntax_error

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
TEMPLATE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
LANGUAGE = re.compile(r"^[a-z]{2}$")

#: Bounds of a campaign file, within what the database columns and the planner's statements
#: hold (a step's texts and conditions end up in one statement per pass).
MAX_STEPS = 100
MAX_LIST = 200  # event kinds, sources, segments
MAX_NAME = 200  # a list item, a task title, a template name
MAX_TEXT = 5_000  # instructions, the re-engagement letter
MAX_FILTER_VALUES = 5_000  # values of all the campaign's filters together
MAX_FILTER_CONDITIONS = 1_024  # conditions of all the campaign's filters together


def _text(max_chars: int) -> Callable[[Any], str | dict[str, str]]:
    """Validator of a text that is a string or ``{ru: ..., en: ...}``, each at most
    ``max_chars`` characters."""

    def check(value: Any) -> str | dict[str, str]:
        if isinstance(value, str):
            if len(value) > max_chars:
                raise ValueError(f"at most {max_chars:,} characters")
            return value
        if isinstance(value, dict) and 0 < len(value) <= 10:
            out: dict[str, str] = {}
            for lang, text in value.items():
                if not isinstance(lang, str) or not LANGUAGE.match(lang):
                    raise ValueError(f"{lang!r} is not a language code like ru or en")
                if not isinstance(text, str) or len(text) > max_chars:
                    raise ValueError(f"{lang}: a text of at most {max_chars:,} characters")
                out[lang] = text
            return out
        raise ValueError("a text, or one per language like {ru: ..., en: ...}")

    return check


Text = Annotated[str | dict[str, str], PlainValidator(_text(300))]
ShortText = Annotated[str | dict[str, str], PlainValidator(_text(MAX_NAME))]
LongText = Annotated[str | dict[str, str], PlainValidator(_text(MAX_TEXT))]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]


def text_for(value: str | dict[str, str] | None, language: str) -> str:
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
    event_kinds: list[Name] = Field(default_factory=list, max_length=MAX_LIST)
    sources: list[Name] = Field(default_factory=list, max_length=MAX_LIST)
    segments: list[Name] = Field(default_factory=list, max_length=MAX_LIST)
    where: str | None = None
    auto_enroll: bool = True

    @field_validator("where")
    @classmethod
    def _where_parses(cls, v: str | None) -> str | None:
        return _parsed_filter(v)


class WindowSpec(_Strict):
    start: Annotated[str, StringConstraints(max_length=5)] = "10:00"
    end: Annotated[str, StringConstraints(max_length=5)] = "18:00"
    days: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        default_factory=lambda: ["mon-fri"], max_length=14
    )
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
    template: Annotated[str, StringConstraints(max_length=MAX_NAME)] | None = None
    title: ShortText | None = None
    instructions: LongText | None = None
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

    @field_validator("template")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is not None and not TEMPLATE.match(v):
            raise ValueError("template: a name like exhibition/news (letters, digits, -, _, /)")
        return v

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

    days: int = Field(default=180, ge=1, le=36_500)
    customers_only: bool = True
    max_per_owner_per_week: int | None = Field(default=None, ge=0, le=100_000)
    letter: LongText | None = None


class Fallback(_Strict):
    """The e-mail a lead gets when a call or reminder task of this campaign is overdue by
    ``after`` business days of its owner (the owner could not reach them): "we tried to reach
    you, pick a time". Template ``<slug>/fallback`` unless named."""

    after: int = Field(default=5, ge=1, le=60)
    template: Annotated[str, StringConstraints(max_length=MAX_NAME)] | None = None
    enabled: bool = True


class CampaignSpec(_Strict):
    slug: str
    name: Text
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    active: bool = True
    audience: Audience = Field(default_factory=Audience)
    window: WindowSpec = Field(default_factory=WindowSpec)
    stop_on: list[StopRule] = Field(default_factory=lambda: list(STOP_RULES))  # type: ignore[arg-type]
    dormant: Dormant | None = None
    fallback: Fallback = Field(default_factory=Fallback)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

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
        self._filters_fit()
        return self

    def _filters_fit(self) -> None:
        """All the campaign's filters together stay within what one statement holds (the
        planner stages every step's condition in one statement)."""
        texts = {self.audience.where, *(s.when for s in self.steps)} - {None, ""}
        sizes = [filter_size(t) for t in texts if t]
        values = sum(s.values for s in sizes)
        conditions = sum(s.conditions for s in sizes)
        if values > MAX_FILTER_VALUES or conditions > MAX_FILTER_CONDITIONS:
            raise ValueError(
                f"the filters of this campaign together have {conditions:,} conditions and "
                f"{values:,} values: at most {MAX_FILTER_CONDITIONS:,} and "
                f"{MAX_FILTER_VALUES:,} (give the leads a segment and filter on it)"
            )

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


def _problem(err: ErrorDetails, node: yaml.Node | None, file: str) -> ConfigError:
    loc = [p for p in err["loc"] if isinstance(p, int | str)]
    field = ".".join(str(p) for p in loc) or "campaign"
    msg = err["msg"].removeprefix("Value error, ")
    return ConfigError(f"{field}: {msg}", file=file, line=_line_of(node, loc))


def parse_campaign(text: str, *, file: str = "<campaign>") -> CampaignSpec:
    """Validate one campaign document. Problems raise ConfigError naming the file and the
    line; several problems raise :class:`ConfigProblems`, one per problem."""
    check_shape(text, file=file)
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise syntax_error(exc, file=file) from None
    if not isinstance(data, dict):
        raise ConfigError(
            "a campaign file must be a mapping (slug:, name:, steps:)", file=file, line=1
        )
    try:
        return CampaignSpec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(err, node, file) for err in exc.errors()]
        problems.sort(key=lambda p: p.line or 0)
        if len(problems) == 1:
            raise problems[0] from None
        raise ConfigProblems(problems) from None


def read_campaign_file(path: Path) -> CampaignSpec:
    """Read and validate a campaign file (ConfigError naming the file when it cannot)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not a UTF-8 text file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read campaign file: {exc.strerror}", file=str(path)) from None
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


def spec_of(campaign: Campaign) -> CampaignSpec:
    """The validated definition of a stored campaign. A definition an older version stored
    that no longer validates (e.g. a filter over today's bounds) is a ConfigError saying
    how to fix it."""
    try:
        return CampaignSpec.model_validate(campaign.definition)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "campaign"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"campaign {campaign.slug!r} as stored is not valid: {field}: {msg}; "
            "fix its file and load it again with `nurture campaign load`"
        ) from None


def load_specs(
    session: Session, *, active_only: bool = True, guard: CampaignGuard | None = None
) -> list[tuple[Campaign, CampaignSpec]]:
    """Campaigns in the database with their validated definitions, highest priority first.

    A stored definition that no longer validates (stored by an older version) is left out,
    so no caller trips over it; with ``guard`` it is recorded there as the campaign's
    failure, which the nurture cycle reports. :func:`spec_of` raises for one campaign.
    """
    query = select(Campaign).order_by(Campaign.priority.desc(), Campaign.id)
    if active_only:
        query = query.where(Campaign.active.is_(True))
    out = []
    for campaign in session.scalars(query):
        try:
            spec = spec_of(campaign)
        except ConfigError as exc:
            if guard is not None:
                guard.fail(campaign.slug, exc.format_message())
            continue
        out.append((campaign, spec))
    return out
