"""The analytics page shows ``nurture.analytics``' report: every figure on the page is the
report's on the same database (a planted history), for each role that may open it, in
English and Russian; rows about people only to those who may see those people."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_support import ANALYTICS_USERS, MOVED, plant_history, sign_in

from nurture.analytics import build_report, history
from nurture.db.session import session_scope
from nurture.db.team import Manager

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
USERS = ANALYTICS_USERS
CELL = re.compile(r'data-path="([^"]+)" data-value="([^"]*)">([^<]*)<')


@pytest.fixture()
def planted(fresh_db: str) -> history.History:
    return plant_history(fresh_db)


@pytest.fixture()
def client(app: Any, planted: history.History) -> Iterator[Any]:
    made: list[TestClient] = []

    def make(key: str) -> TestClient:
        c = TestClient(app)
        made.append(c)
        return sign_in(c, USERS[key][0])

    yield make
    for c in made:
        c.close()


def _report(sim: history.History) -> dict[str, Any]:
    with session_scope() as s:
        return build_report(s, since=sim.start, until=sim.until)


def _url(sim: history.History) -> str:
    return f"/analytics?since={sim.start.date()}&until={sim.until.date()}"


def _at(report: dict[str, Any], path: str) -> Any:
    value: Any = report
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _shown(text: str, lang: str) -> tuple[float, float]:
    """A figure as written on the page, back to a number, and half its last digit."""
    plain = text.replace("\u00a0", "").replace(" ", "")
    plain = plain.replace(",", ".") if lang == "ru" else plain.replace(",", "")
    share = plain.endswith("%")
    plain = plain.rstrip("%")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    scale = 100 if share else 1
    return float(plain) / scale, 0.5 * 10**-decimals / scale


def check_every_figure(html: str, report: dict[str, Any], lang: str = "en") -> int:
    """Every ``data-path`` cell holds the report's value there (rows about people are
    matched by the manager's name, as the page may leave some out)."""
    people = re.findall(r'<tr data-manager="([^"]+)"', html)
    by_name = {r["manager"]: r for r in report["time_in_stage"]["managers"]}
    cells = CELL.findall(html)
    for path, raw, text in cells:
        if path.startswith("time_in_stage.managers."):
            _, _, index, key = path.split(".")
            want = by_name[people[int(index)]][key]
        else:
            want = _at(report, path)
        if want is None:
            assert raw == "" and text == "—", path
            continue
        assert float(raw) == pytest.approx(want, abs=1e-9), path
        got, half = _shown(text, lang)
        assert abs(got - want) <= half + 1e-9, (path, text, want)
    return len(cells)


def test_every_role_that_may_sees_the_reports_figures(
    client: Any, planted: history.History
) -> None:
    report = _report(planted)
    managers = {r["manager"] for r in report["time_in_stage"]["managers"]}
    assert MOVED in managers and len(managers) >= 5
    for key in ("marketing", "supervisor", "west", "admin"):
        page = client(key).get(_url(planted))
        assert page.status_code == 200, key
        assert '<a href="/analytics" aria-current="page">Analytics</a>' in page.text
        assert check_every_figure(page.text, report) > 150, key
        shown = set(re.findall(r'<tr data-manager="([^"]+)"', page.text))
        if key == "marketing":  # aggregates only
            assert 'id="managers"' not in page.text and not shown
        elif key == "admin":
            assert shown == managers
        elif key == "west":
            assert shown == {MOVED}
        else:
            assert shown == managers - {MOVED}
        # the same aggregates for everyone: the funnel, coverage, sequences, revenue
        assert f'data-path="leads" data-value="{report["leads"]}"' in page.text
        assert page.text.count('<img class="chart"') >= 7
        assert planted.truth.silent_event in page.text
        assert " → ".join(planted.truth.best_sequence) in page.text
    assert client("manager").get(_url(planted)).status_code == 403


def test_the_page_speaks_russian(client: Any, planted: history.History) -> None:
    page = client("russian").get(_url(planted))
    assert page.status_code == 200
    assert "Воронка по этапам" in page.text and "Аналитика" in page.text
    assert "Лиды, отработанные за 30 дней, по мероприятиям" in page.text  # the chart's own
    assert check_every_figure(page.text, _report(planted), lang="ru") > 150
    total = f"{round(_report(planted)['revenue']['total']):,}".replace(",", "\u00a0")
    assert f">{total}<" in page.text  # grouped the Russian way


@SQLITE
def test_the_default_period_is_the_last_90_days_and_a_wrong_one_is_refused(
    client: Any, planted: history.History
) -> None:
    reader = client("marketing")
    page = reader.get("/analytics")
    assert page.status_code == 200
    since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
    shown = page.text.split('id="period-shown"')[1].split("</p>")[0]
    assert since in shown  # the planted history is older: nothing in it
    assert 'data-path="leads" data-value="0"' in page.text and 'id="no-leads"' in page.text
    assert f'name="since" value="{since}"' in page.text
    for query in ("since=2026-13-01", "since=2026-03-01&until=2026-02-01", "until=soon"):
        wrong = reader.get("/analytics?" + query)
        assert wrong.status_code == 422 and 'id="period-error"' in wrong.text, query
        assert "data-path" not in wrong.text


@SQLITE
def test_only_people_of_the_supervisors_teams_are_named(
    client: Any, planted: history.History
) -> None:
    with session_scope() as s:
        others = set(s.scalars(select(Manager.name).where(Manager.name != MOVED)))
    page = client("west").get(_url(planted)).text
    assert MOVED in page
    for name in others - {"Wanda West"}:
        assert name not in page, name  # not in a table, not in a chart's alt text


@SQLITE
def test_a_first_import_without_any_sale_yet_is_shown(
    client_for: Any, world: Any, tmp_path: Any
) -> None:
    from web_support import add_campaign_and_import

    add_campaign_and_import(world, tmp_path)  # leads met today, nothing bought or marked
    page = client_for("marketing").get("/analytics")
    assert page.status_code == 200
    leads = re.search(r'data-path="leads" data-value="(\d+)"', page.text)
    assert leads is not None and int(leads[1]) >= 1, page.text[-3000:]
    assert 'data-path="revenue.total" data-value="0.0"' in page.text


def test_rows_about_people_are_left_out_without_touching_the_report() -> None:
    from nurture.web.analytics_view import Audience, for_audience

    report = {
        "funnel": {
            "overall": {"leads": 3},
            "by": {
                "event": [{"event": "Expo", "leads": 3}],
                "manager": [{"manager": "Ann", "leads": 2}, {"manager": "Bob", "leads": 1}],
                "team": [{"team": "North", "leads": 2}, {"team": "South", "leads": 1}],
            },
        },
        "time_in_stage": {
            "managers": [{"manager": "Bob", "team": "South", "tasks": 4}],
            "escalations": [{"level": 1, "escalations": 5, "by_manager": {"Ann": 2, "Bob": 3}}],
        },
    }
    ann = for_audience(report, Audience.of(["Ann"], ["North"]))
    assert ann["funnel"]["by"]["manager"] == [{"manager": "Ann", "leads": 2}]
    assert ann["funnel"]["by"]["team"] == [{"team": "North", "leads": 2}]
    assert ann["time_in_stage"]["managers"] == []
    assert ann["time_in_stage"]["escalations"] == [
        {"level": 1, "escalations": 5, "by_manager": {"Ann": 2}}  # the total stays
    ]
    assert ann["funnel"]["by"]["event"] == report["funnel"]["by"]["event"]
    nobody = for_audience(report, Audience.nobody())
    assert nobody["funnel"]["by"]["manager"] == [] and nobody["funnel"]["by"]["team"] == []
    assert nobody["funnel"]["overall"] == {"leads": 3}
    assert for_audience(report, Audience.everyone()) is report
    assert len(report["funnel"]["by"]["manager"]) == 2  # the report itself is unchanged
    assert not Audience.nobody().sees_people and Audience.everyone().sees_people


def test_the_period_is_read_like_nurture_reports() -> None:
    from nurture.analytics.commands import period_of
    from nurture.errors import InputError
    from nurture.web.analytics_view import parse_period

    now = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
    for since, until in (("2026-01-05", "2026-07-04"), (None, None), ("2026-10-01", None)):
        assert parse_period(since, until, now=now) == period_of(since, until, now)
    assert parse_period("", " ", now=now) == period_of(None, None, now)
    with pytest.raises(InputError):
        parse_period("2026-02-01", "2026-02-01", now=now)
