"""The playbook file: its schema (pydantic), as plain data the engine reads.

A playbook (see ``examples/playbooks/``) is a list of stages; a stage has actions and exits::

    name: b2b-sale
    title: {ru: "Продажа B2B", en: "B2B sale"}
    roles: [engineer, head_of_sales]      # role pools its actions and escalations use
    fields: [price, delivery_date]        # deal fields conditions may read
    stall_after: 10 business days         # no progress for this long: the supervisor is told
    enter:                                # open a deal automatically when ...
      - {kinds: [call, first_contact], when: "outcome.interested == yes"}
    documents:
      proposal: {template: proposal, title: {en: Proposal}, approvals: [supervisor]}
    requests:
      invoice: {kind: invoice_request, target: finance}
    stages:
      - key: qualification
        actions:
          - key: call
            title: {ru: "Квалификационный звонок", en: "Qualification call"}
            instructions: "Markdown ..."
            who: owner                    # owner | supervisor | <role> | automated
            due: 2 business days          # after the stage starts (after: previous: the
            deadline: hard                #   previous action's completion)
            remind: [1 business day]      # before the deadline
            escalate:
              - {after: 1 business day, notify: supervisor}
              - {after: 3 business days, reassign: next_manager}
              - {after: 5 business days, notify: head_of_sales}
            outcome:
              interested: {type: yesno, required: true}
        exits:
          - {to: proposal, when: "outcome.interested"}
          - {to: lost, reason: not interested}   # won and lost end the deal

Validation with file and line lives in :mod:`nurture.playbooks.validation`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nurture.playbooks.calendar import Duration
from nurture.playbooks.outcomes import OutcomeField

KEY = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
ROLE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
TERMINALS = ("won", "lost")
#: Who does an action, besides the role pools a playbook declares.
BUILTIN_WHO = ("owner", "supervisor", "automated")
#: Who an escalation level tells or reassigns to, besides role pools and e-mail addresses.
BUILTIN_TARGETS = ("owner", "supervisor", "next_manager")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Text = str | dict[str, str]


def text_for(value: Text | None, language: str | None) -> str:
    """The ``language`` variant of a text (a string or a ``{ru:, en:}`` mapping)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get(language or "en") or value.get("en") or next(iter(value.values()), "")


def _duration(value: Any) -> str:
    Duration.parse(value)  # raises ValueError with the accepted forms
    return str(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _key(value: str) -> str:
    if not KEY.match(value):
        raise ValueError(f"{value!r}: keys are lower-case letters, digits, '-' and '_'")
    return value


class EscalationLevel(_Strict):
    """One level of an escalation chain: ``after`` the deadline, tell or reassign."""

    after: str = "0 business hours"
    notify: str | None = None  # supervisor | owner | <role> | e-mail
    reassign: str | None = None  # next_manager | supervisor | <role>

    _after = field_validator("after", mode="before")(_duration)

    @model_validator(mode="after")
    def _one(self) -> EscalationLevel:
        if (self.notify is None) == (self.reassign is None):
            raise ValueError("give exactly one of 'notify' or 'reassign'")
        return self

    @property
    def target(self) -> str:
        return self.notify or self.reassign or ""

    @property
    def action(self) -> str:
        return "notify" if self.notify else "reassign"


class StepSpec(_Strict):
    """An automated step: a Python entry point or an HTTP webhook."""

    entry_point: str | None = None  # package.module:function
    webhook: str | None = None  # URL; ${NURTURE_...} settings are not expanded here
    timeout: float = Field(default=10.0, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=20)
    backoff: str = "1 minute"  # first retry delay, doubled each time

    _backoff = field_validator("backoff", mode="before")(_duration)

    @model_validator(mode="after")
    def _one(self) -> StepSpec:
        if (self.entry_point is None) == (self.webhook is None):
            raise ValueError("give exactly one of 'entry_point' or 'webhook'")
        if self.entry_point is not None and not re.fullmatch(
            r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", self.entry_point
        ):
            raise ValueError(f"entry_point {self.entry_point!r} is not package.module:function")
        if self.webhook is not None and not re.match(r"^https?://", self.webhook):
            raise ValueError(f"webhook {self.webhook!r} is not an http(s) URL")
        return self


class EmailSpec(_Strict):
    """An e-mail an automated action queues (template under templates/email/)."""

    template: str
    to: Literal["lead", "owner", "supervisor"] = "lead"


class ActionSpec(_Strict):
    key: str
    title: Text
    instructions: Text | None = None
    who: str = "owner"
    due: str = "1 business day"
    after: Literal["stage", "previous"] = "stage"
    deadline: Literal["hard", "recommended"] = "recommended"
    remind: list[str] = Field(default_factory=list)
    escalate: list[EscalationLevel] = Field(default_factory=list)
    outcome: dict[str, OutcomeField] = Field(default_factory=dict)
    documents: list[str] = Field(default_factory=list)
    optional: bool = False
    # with ``after: previous``: the action happens only if this holds once the previous
    # action is finished (else it is skipped), e.g. "outcome.interested"
    when: str | None = None
    # automated actions: exactly one of these
    step: StepSpec | None = None
    request: str | None = None  # a key of the playbook's requests
    email: EmailSpec | None = None
    sets: list[str] = Field(default_factory=list)  # deal fields a step's result sets

    _key = field_validator("key")(_key)
    _due = field_validator("due", mode="before")(_duration)

    @field_validator("remind", mode="before")
    @classmethod
    def _remind(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        return [_duration(v) for v in items]

    @field_validator("outcome")
    @classmethod
    def _outcome_keys(cls, value: dict[str, OutcomeField]) -> dict[str, OutcomeField]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", name):
                raise ValueError(f"outcome field {name!r}: lower-case letters, digits and '_'")
        return value

    @model_validator(mode="after")
    def _automation(self) -> ActionSpec:
        kinds = [k for k in ("step", "request", "email") if getattr(self, k) is not None]
        if self.who == "automated" and len(kinds) != 1:
            raise ValueError("an automated action needs exactly one of 'step', 'request', 'email'")
        if self.who != "automated" and kinds:
            raise ValueError(f"'{kinds[0]}' is for actions with who: automated")
        if self.sets and self.step is None:
            raise ValueError("'sets' names the deal fields an automated step's result sets")
        if self.who == "automated" and (self.outcome or self.escalate or self.remind):
            raise ValueError("automated actions have no outcome form, reminders or escalations")
        if self.when is not None and self.after != "previous":
            raise ValueError("'when' needs 'after: previous' (it is decided when that one ends)")
        return self

    @property
    def automated(self) -> bool:
        return self.who == "automated"


class ExitSpec(_Strict):
    to: str
    when: str | None = None
    reason: str | None = None


class StageSpec(_Strict):
    key: str
    title: Text | None = None
    stall_after: str | None = None
    actions: list[ActionSpec] = Field(default_factory=list)
    exits: list[ExitSpec] = Field(min_length=1)

    _key = field_validator("key")(_key)

    @field_validator("stall_after", mode="before")
    @classmethod
    def _stall(cls, value: Any) -> Any:
        return None if value is None else _duration(value)


class DocumentSpec(_Strict):
    template: str  # templates/documents/<template>.html (or .<lang>.html)
    title: Text
    approvals: list[str] = Field(default_factory=list)  # roles, in order
    send: bool = True  # sent to the client (else internal, e.g. meeting notes)


class RequestSpec(_Strict):
    kind: str  # invoice_request, work_order, onboarding ...
    target: str  # finance, production, support: the webhook it goes to


class EnterRule(_Strict):
    """Open a deal on this playbook when a task of these kinds is done and ``when`` holds."""

    kinds: list[str] = Field(default_factory=lambda: ["call", "first_contact"])
    when: str


class PlaybookSpec(_Strict):
    name: str
    title: Text | None = None
    description: str | None = None
    roles: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    stall_after: str = "10 business days"
    enter: list[EnterRule] = Field(default_factory=list)
    documents: dict[str, DocumentSpec] = Field(default_factory=dict)
    requests: dict[str, RequestSpec] = Field(default_factory=dict)
    stages: list[StageSpec] = Field(min_length=1)

    _name = field_validator("name")(_key)
    _stall = field_validator("stall_after", mode="before")(_duration)

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if not ROLE.match(role):
                raise ValueError(f"role {role!r}: lower-case letters, digits and '_'")
            if role in BUILTIN_WHO or role in BUILTIN_TARGETS:
                raise ValueError(f"{role!r} is built in; do not declare it in roles")
        return value

    def stage(self, key: str) -> StageSpec | None:
        return next((s for s in self.stages if s.key == key), None)

    def action(self, stage: str, key: str) -> ActionSpec | None:
        found = self.stage(stage)
        if found is None:
            return None
        return next((a for a in found.actions if a.key == key), None)

    def deal_fields(self) -> set[str]:
        """What ``deal.<field>`` may name: built-ins, declared fields, steps' results."""
        out = {"amount", "currency", "stage", "status", "playbook", "id"} | set(self.fields)
        for stage in self.stages:
            for action in stage.actions:
                out.update(action.sets)
        return out
