"""The flows retry a task only when it failed on an error worth retrying as it is."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from nurture.errors import (
    InputError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    retry_transient,
    transient,
)


class State:
    """A Prefect state's ``result()``: returns, or raises what the task raised."""

    def __init__(self, exc: Exception | None = None) -> None:
        self.exc = exc

    def result(self) -> str:
        if self.exc is not None:
            raise self.exc
        return "done"


LOST = OperationalError("select 1", {}, Exception("server closed the connection"))


@pytest.mark.parametrize(
    "exc", [LOST, TemporaryDeliveryError("421 try later"), ConnectionError(), TimeoutError()]
)
def test_lost_connections_and_temporary_failures_are_retried(exc: Exception) -> None:
    assert transient(exc) and retry_transient(None, None, State(exc))


@pytest.mark.parametrize(
    "exc",
    [ValueError("a bug"), InputError("a bad row"), PermanentDeliveryError("550 no such user")],
)
def test_bugs_mistakes_and_permanent_failures_are_not(exc: Exception) -> None:
    assert not transient(exc) and not retry_transient(None, None, State(exc))


def test_a_run_that_did_not_fail_is_not_retried() -> None:
    assert not retry_transient(None, None, State())
