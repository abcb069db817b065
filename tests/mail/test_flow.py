"""The Prefect flow runs for real and sends through the outbox (one test: the harness is slow)."""

from __future__ import annotations

from datetime import datetime

import pytest
from mail_support import add_leads, queue_messages

from nurture.config import get_settings
from nurture.db.session import session_scope
from nurture.errors import retry_transient
from nurture.flowfiles import load_flow_file


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_send_outbox_flow(fresh_db: str, prefect_harness: None) -> None:
    emails = ["a@example.com", "b@example.com", "c@example.com"]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails)
    flows = load_flow_file("send")
    early = flows.send_outbox(now=datetime(2000, 1, 1))  # nothing is due yet in 2000
    assert early["claimed"] == 0
    first = flows.send_outbox(limit=2)
    assert (first["claimed"], first["sent"]) == (2, 2)
    rest = flows.send_outbox()
    assert (rest["claimed"], rest["sent"]) == (1, 1)
    assert len(list(get_settings().outbox_dir.glob("*.eml"))) == 3
    # retries only for transient errors (tests/test_retry.py)
    assert flows.send_batch.retry_condition_fn is retry_transient
