"""What every adapter returns, and the JSON body every provider but Pesapal's GET IPN sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.domain.errors import InvalidInput


@dataclass(frozen=True)
class Callback:
    """A verified, parsed callback: stored once per (provider, event_id), then applied by a job.
    M-Pesa callbacks name their tenant by `token` (store_event resolves it), the others by
    `tenant_id`; B2C payout results have neither (they are the platform's)."""

    provider: str
    event_id: str
    kind: str
    payload: dict[str, Any]
    tenant_id: str | None = None
    token: str | None = None


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"")
    except ValueError:
        raise InvalidInput("The body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body is not a JSON object")
    return body
