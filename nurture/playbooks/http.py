"""The one HTTP call of the playbooks capability: POST a JSON body with an idempotency key
and a timeout (webhook steps and requests to other systems)."""

from __future__ import annotations

from typing import Any

import httpx

USER_AGENT = "Nurture playbooks"


def post_json(url: str, payload: dict[str, Any], *, key: str, timeout: float) -> tuple[int, Any]:
    """``(status, body)``: the body parsed as JSON when it is JSON, else its text. Network
    errors and timeouts raise (``httpx.HTTPError``): the caller retries."""
    headers = {"Idempotency-Key": key, "User-Agent": USER_AGENT}
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
        response = client.post(url, json=payload, headers=headers)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    return response.status_code, body
