"""Property-based bad input (issue 23) for the cadence capability: the filter language of
``--where`` / ``audience.where`` / ``when``, and campaign YAML.

Whatever the input: a clear one-line error (FilterError, ConfigError naming the file and
the line), never another exception; and what is accepted runs, on SQLite and PostgreSQL,
in the statements that use it (filter alone, enrolment, planning), so no database refuses
it later. Each example runs in a savepoint that is rolled back: nothing is left behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.cadence import CampaignGuard, enrol, plan_due, save_campaign
from nurture.cadence.campaigns import parse_campaign
from nurture.cadence.enrolment import audience_condition
from nurture.cadence.filters import (
    DATE_FIELDS,
    EVENT_FIELDS,
    FIELDS,
    FilterError,
    compile_filter,
)
from nurture.db.leads import Lead
from nurture.errors import ConfigError
from nurture.routing.yamlfile import problems_of

NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---- the filter language -------------------------------------------------------------

_fields = st.sampled_from([*FIELDS, *EVENT_FIELDS, "password", "Country", "select"])
_ops = st.sampled_from(["=", "!=", "<>", "<", "<=", ">", ">=", "==", "~"])
_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(max_size=12).map(lambda t: "'" + t.replace("'", "''") + "'"),
    st.sampled_from(
        ["true", "false", "null", "'2026-01-31'", "'0001-01-01T00:00+05:00'", "'x'' or 1=1 --'"]
    ),
)
_conditions = st.one_of(
    st.builds(lambda f, o, v: f"{f} {o} {v}", _fields, _ops, _values),
    st.builds(
        lambda f, neg, vs: f"{f} {neg}in ({', '.join(vs)})",
        _fields,
        st.sampled_from(["", "not "]),
        st.lists(_values, min_size=1, max_size=4),
    ),
    st.builds(lambda f, neg: f"{f} is {neg}null", _fields, st.sampled_from(["", "not "])),
    st.builds(lambda f, v: f"{f} like {v}", _fields, _values),
)
_TEXT_FIELDS = sorted(set(FIELDS) - {"id", "owner_id", "do_not_contact"} - DATE_FIELDS)
# conditions each field accepts: most generated expressions are then valid, and run
_typed_conditions = st.one_of(
    st.builds(
        lambda f, o, t: f"{f} {o} '{t}'",
        st.sampled_from([*_TEXT_FIELDS, *EVENT_FIELDS]),
        st.sampled_from(["=", "!="]),
        st.text(max_size=10).map(lambda t: t.replace("'", "''")),
    ),
    st.builds(
        lambda f, ts: f"{f} in ({', '.join(repr(t) for t in ts)})",
        st.sampled_from(_TEXT_FIELDS),
        st.lists(st.from_regex(r"[A-Za-zА-я ]{0,8}", fullmatch=True), min_size=1, max_size=5),
    ),
    st.builds(
        lambda f, o, n: f"{f} {o} {n}",
        st.sampled_from(["id", "owner_id"]),
        st.sampled_from(["=", "<", ">="]),
        st.integers(-(2**31), 2**31 - 1),
    ),
    st.builds(
        lambda f, o, d: f"{f} {o} '{d.isoformat()}'",
        st.sampled_from(sorted(DATE_FIELDS)),
        st.sampled_from(["<", ">=", "="]),
        st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30)),
    ),
    st.sampled_from(["do_not_contact = true", "segment is null", "email like '%@mail.ru'"]),
)
_expressions = st.recursive(
    st.one_of(_typed_conditions, _typed_conditions, _conditions),
    lambda inner: st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or"]), inner),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=24,
)
_valid_filters = st.recursive(
    _typed_conditions,
    lambda inner: st.builds(
        lambda a, op, b: f"({a}) {op} not {b}", inner, st.sampled_from(["and", "or"]), inner
    ),
    max_leaves=8,
)


@st.composite
def filter_texts(draw: st.DrawFn) -> str:
    """Grammatical expressions, mutated ones, deep ones and plain noise."""
    kind = draw(st.sampled_from(["grammar", "grammar", "grammar", "mutated", "deep", "noise"]))
    if kind == "noise":
        return draw(st.text(max_size=60))
    if kind == "deep":
        n = draw(st.integers(0, 400))
        core = draw(_typed_conditions)
        return draw(st.sampled_from(["(" * n + core + ")" * n, "not " * n + core]))
    text = draw(_expressions)
    if kind == "mutated" and text:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=3)) + text[at + draw(st.integers(0, 3)) :]
    return text


def _one_line(exc: ConfigError | FilterError) -> None:
    message = exc.format_message()
    assert message and "\n" not in message and "Traceback" not in message


@FUZZ
@given(text=filter_texts())
def test_any_filter_is_a_clear_error_or_runs(session: Session, text: str) -> None:
    try:
        condition = compile_filter(text)
    except FilterError as exc:
        _one_line(exc)
        return
    with session.begin_nested() as savepoint:
        session.execute(select(func.count()).select_from(Lead).where(condition)).scalar_one()
        savepoint.rollback()


# ---- campaign YAML -------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        ["email", "call", "reminder", "fax", "mon-fri", "sat", "10:00", "25:99", "hard", "x" * 400]
    ),
)
_any = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["ru", "en", "x", "days", "start"]), inner, max_size=3)
    ),
    max_leaves=12,
)
_steps = st.fixed_dictionaries(
    {
        "name": st.one_of(st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True), _scalars),
        "channel": st.sampled_from(["email", "call", "reminder", "fax"]),
    },
    optional={
        "day": st.integers(-2, 4000),
        "after": st.integers(-2, 4000),
        "when": filter_texts(),
        "template": st.one_of(st.sampled_from(["a/b", "../x", "exhibition/news"]), _scalars),
        "title": _any,
        "instructions": _any,
        "deadline": st.sampled_from(["hard", "recommended", "soon"]),
        "opened_previous": _scalars,
        "colour": _any,
    },
)
_campaigns = st.fixed_dictionaries(
    {
        "slug": st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True), _scalars),
        "name": _any,
        "steps": st.one_of(st.lists(_steps, max_size=4), _any),
    },
    optional={
        "priority": st.one_of(st.integers(-(10**12), 10**12), _scalars),
        "audience": st.fixed_dictionaries(
            {},
            optional={
                "event_kinds": st.one_of(st.lists(st.sampled_from(["seminar", "expo"])), _any),
                "segments": _any,
                "sources": _any,
                "where": st.one_of(filter_texts(), _scalars),
                "auto_enroll": _scalars,
            },
        ),
        "window": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "start": st.sampled_from(["09:00", "10:00", "7", "x"]),
                    "end": st.sampled_from(["18:00", "09:30", "24:00"]),
                    "days": st.lists(st.sampled_from(["mon-fri", "sat", "sun", "funday"])),
                },
            ),
            _any,
        ),
        "stop_on": st.lists(st.sampled_from(["converted", "replied", "magic"]), max_size=3),
        "dormant": st.one_of(st.fixed_dictionaries({}, optional={"days": _scalars}), _any),
        "extra": _any,
    },
)


@st.composite
def valid_campaigns(draw: st.DrawFn) -> dict[str, Any]:
    """Campaigns a marketer could write: steps in order, typed conditions, both languages."""
    steps: list[dict[str, Any]] = []
    day = 0
    for i in range(draw(st.integers(1, 6))):
        step: dict[str, Any] = {
            "name": f"s{i}",
            "channel": draw(st.sampled_from(["email", "email", "call", "reminder"])),
        }
        if i and draw(st.booleans()):
            step["after"] = draw(st.integers(0, 5))
            day += step["after"]
        else:
            day += draw(st.integers(0, 5))
            step["day"] = day
        if draw(st.booleans()):
            step["when"] = draw(_valid_filters)
        if draw(st.booleans()):
            step["title"] = {"ru": draw(st.text(max_size=40)), "en": draw(st.text(max_size=40))}
            step["instructions"] = draw(st.text(max_size=200))
            step["deadline"] = draw(st.sampled_from(["hard", "recommended"]))
        if step["channel"] == "email" and draw(st.booleans()):
            step["opened_previous"] = draw(st.booleans())
        steps.append(step)
    audience: dict[str, Any] = {"event_kinds": ["seminar"]}
    if draw(st.booleans()):
        audience["where"] = draw(_valid_filters)
    return {
        "slug": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)),
        "name": {"ru": draw(st.text(max_size=60)), "en": draw(st.text(max_size=60))},
        "priority": draw(st.integers(-100, 100)),
        "audience": audience,
        "window": {"start": "09:00", "end": draw(st.sampled_from(["18:00", "09:30", "23:59"]))},
        "steps": steps,
    }


@st.composite
def campaign_files(draw: st.DrawFn) -> str:
    """Valid campaigns, some with one value made hostile, some cut or spliced into invalid
    YAML, some deeply nested, some from anything at all."""
    kind = draw(st.sampled_from(["valid", "valid", "spoiled", "spoiled", "cut", "nested", "any"]))
    data: Any = draw(_campaigns) if kind == "any" else draw(valid_campaigns())
    if kind == "spoiled":
        target = data if draw(st.booleans()) else draw(st.sampled_from(data["steps"]))
        target[draw(st.sampled_from([*target, "extra"]))] = draw(_any)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if kind == "cut":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=4)) + text[at + draw(st.integers(0, 4)) :]
    elif kind == "nested":
        n = draw(st.integers(20, 3000))
        text += "deep: " + "[" * n + "]" * n + "\n"
    return text


def _plan_it(session: Session, spec: Any) -> None:
    """Save, enrol and plan a valid campaign: no statement may fail."""
    campaign, _ = save_campaign(session, spec)
    session.add_all(
        [
            Lead(email="fuzz1@example.ru", city="Омск", country="RU", timezone="Asia/Omsk"),
            Lead(email="fuzz2@example.com", language="en", segment="b2b"),
        ]
    )
    session.flush()
    enrol(
        session,
        campaign,
        spec,
        now=NOW,
        condition=audience_condition(spec),
        first_time_only=False,
    )
    plan_due(session, [(campaign, spec)], now=NOW, guard=CampaignGuard(session, isolate=False))


@FUZZ
@given(text=campaign_files())
def test_any_campaign_file_is_clear_errors_or_plans(session: Session, text: str) -> None:
    try:
        spec = parse_campaign(text, file="fuzz.yaml")
    except ConfigError as exc:
        for problem in problems_of(exc):
            _one_line(problem)
            assert problem.format_message().startswith("fuzz.yaml")
        return
    with session.begin_nested() as savepoint:
        _plan_it(session, spec)
        savepoint.rollback()
