"""prefect.yaml is what `prefect deploy --all` will accept and what the workers can run.

No Prefect server: every deployment's entrypoint is imported the way a worker does it
(``load_flow_from_entrypoint``), its parameters are checked against the flow's schema the
way the API checks a scheduled run's (JSON schema) and the way the flow checks them itself
(pydantic), and its schedules through Prefect's own ``CronSchedule`` model.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from nurture.config import PROJECT_ROOT

PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"
PRODUCTION_DOC = PROJECT_ROOT / "docs" / "production.md"
#: flows/*.py that are drivers run by hand (``make demo``), not scheduled jobs
NOT_SCHEDULED = {"demo.py"}
TEMPLATE = re.compile(r"\{\{\s*\$(\w+)\s*\}\}")


@cache
def config() -> dict[str, Any]:
    data = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def deployments() -> list[dict[str, Any]]:
    return list(config()["deployments"])


def by_name() -> list[Any]:
    return [pytest.param(d, id=d["name"]) for d in deployments()]


@cache
def load(entrypoint: str) -> Any:
    from prefect.flows import load_flow_from_entrypoint

    # no placeholder: a flow that fails to import must fail here, not on a worker
    return load_flow_from_entrypoint(str(PROJECT_ROOT / entrypoint), use_placeholder_flow=False)


def filled(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters with ``{{ $VAR }}`` filled in, as `prefect deploy` does from its
    environment."""
    return {
        k: TEMPLATE.sub("/srv/nurture/x", v) if isinstance(v, str) else v
        for k, v in parameters.items()
    }


def test_every_flow_file_has_a_deployment() -> None:
    deployed = {d["entrypoint"].split(":")[0] for d in deployments()}
    files = {
        f"flows/{p.name}"
        for p in (PROJECT_ROOT / "flows").glob("*.py")
        if p.name not in NOT_SCHEDULED and not p.name.startswith("_")
    }
    assert files - deployed == set(), "flows without a deployment in prefect.yaml"
    assert deployed - files == set(), "deployments of files that do not exist"


def test_the_scheduled_jobs_of_the_design_are_all_there() -> None:
    names = {d["name"] for d in deployments()}
    assert {
        "intake-inbox",
        "nurture-cycle",
        "send-outbox",
        "escalations",
        "reengage-dormant",
        "score-leads",
        "train-scorer",
        "weekly-report",
    } <= names
    assert len(names) == len(deployments()), "two deployments share a name"


@pytest.mark.parametrize("deployment", by_name())
def test_entrypoint_imports_and_parameters_validate(deployment: dict[str, Any]) -> None:
    from prefect.utilities.callables import parameter_schema
    from prefect.utilities.schema_tools.validation import validate

    path, _, name = deployment["entrypoint"].partition(":")
    assert (PROJECT_ROOT / path).is_file()
    flow = load(deployment["entrypoint"])
    assert flow.fn.__name__ == name
    params = filled(deployment.get("parameters") or {})
    for schedule in deployment.get("schedules") or []:
        run_params = params | (schedule.get("parameters") or {})
        # the API's check of a scheduled run (required parameters included) ...
        schema = parameter_schema(flow).model_dump_for_openapi()
        assert validate(run_params, schema, raise_on_error=True) == []
        # ... and the flow's own, when the worker calls it
        flow.validate_parameters(run_params)


@pytest.mark.parametrize("deployment", by_name())
def test_every_flow_parameter_is_documented_in_its_docstring(deployment: dict[str, Any]) -> None:
    flow = load(deployment["entrypoint"])
    doc = flow.fn.__doc__ or ""
    missing = [p for p in parameter_names(flow) if f"``{p}``" not in doc]
    assert missing == [], f"{flow.name}: say what {missing} mean in the flow's docstring"


def parameter_names(flow: Any) -> list[str]:
    from prefect.utilities.callables import parameter_schema

    return list(parameter_schema(flow).properties)


def test_every_parameter_in_prefect_yaml_has_a_comment() -> None:
    """A value in a ``parameters:`` block says what it is on its own line."""
    lines = PREFECT_YAML.read_text(encoding="utf-8").splitlines()
    bare = []
    for i, line in enumerate(lines):
        if line.strip() != "parameters:":
            continue
        indent = len(line) - len(line.lstrip())
        for entry in lines[i + 1 :]:
            if not entry.strip() or len(entry) - len(entry.lstrip()) <= indent:
                break
            if " # " not in entry:
                bare.append(entry.strip())
    assert bare == []
    assert any(d.get("parameters") for d in deployments())  # the scan looked at something


def strings(value: Any) -> list[str]:
    """Every string value in a parsed YAML document (comments are not values)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_templated_values_are_documented() -> None:
    used = set(TEMPLATE.findall(" ".join(strings(config()))))
    assert used, "prefect.yaml fills in no variables: drop this test"
    doc = PRODUCTION_DOC.read_text(encoding="utf-8")
    assert [v for v in sorted(used) if f"`{v}`" not in doc] == []


@pytest.mark.parametrize("deployment", by_name())
def test_schedules_are_valid_cron_in_an_iana_zone(deployment: dict[str, Any]) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    schedules = deployment.get("schedules") or []
    assert schedules, f"{deployment['name']} is never scheduled"
    for schedule in schedules:
        assert set(schedule) <= {"cron", "timezone", "slug", "active", "parameters"}
        # raises on a bad cron string or a zone missing from the IANA database
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", schedule["slug"])


def test_schedule_slugs_are_unique() -> None:
    slugs = [s["slug"] for d in deployments() for s in d.get("schedules") or []]
    assert len(slugs) == len(set(slugs)) > 0


def test_every_deployment_runs_on_the_nurture_process_pool_with_the_shared_settings() -> None:
    shared = config()["definitions"]
    assert shared["work_pool"]["name"] == "nurture"
    for d in deployments():
        # the YAML anchors: one place to change the pool, its job variables and the tags
        assert d["work_pool"] == shared["work_pool"], d["name"]
        assert d["tags"] == shared["tags"], d["name"]
    pool_doc = PRODUCTION_DOC.read_text(encoding="utf-8")
    assert "prefect work-pool create nurture --type process" in pool_doc


def test_no_secret_is_written_into_prefect_yaml() -> None:
    """Secrets come from the worker's environment; `prefect deploy` would store a literal."""
    text = PREFECT_YAML.read_text(encoding="utf-8")
    for name in ("NURTURE_SECRET_KEY", "NURTURE_SMTP_URL", "NURTURE_DATABASE_URL"):
        assert not re.search(rf"^\s*{name}\s*:", text, re.M), name
    assert not re.search(r"\w+://[^\s/]*:[^\s@]*@", text)  # user:password@ in a URL


def test_the_night_jobs_run_in_order() -> None:
    """Training feeds the same night's scoring, and scoring re-engagement's ranking, which
    lands before the managers' day."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from prefect._vendor.croniter import croniter

    def first_run_on_a_monday(name: str) -> datetime:
        (schedule,) = next(d for d in deployments() if d["name"] == name)["schedules"]
        start = datetime(2027, 1, 4, tzinfo=ZoneInfo(schedule["timezone"]))  # Monday 00:00
        when: datetime = croniter(schedule["cron"], start).get_next(datetime)
        return when

    train = first_run_on_a_monday("train-scorer")
    score = first_run_on_a_monday("score-leads")
    again = first_run_on_a_monday("reengage-dormant")
    assert train < score < again
    assert again.hour < 9
