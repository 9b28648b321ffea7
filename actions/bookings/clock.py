"""The tenant's clock: its IANA timezone (GET /v1/tenant, cached) and its local time now."""
from __future__ import annotations

import logging
import time as clock
from datetime import datetime
from typing import Dict, Tuple

from rasa_sdk import Tracker

from actions.backend import BackendUnavailable, backend
from actions.conversation_owner import tenant_and_customer
from kit.clock import DEFAULT_TIMEZONE, local_now

logger = logging.getLogger(__name__)

TIMEZONE_CACHE_SECONDS = 300
_timezones: Dict[str, Tuple[float, str]] = {}


async def tenant_timezone(tenant_id: str) -> str:
    """The tenant's IANA timezone (cached a few minutes; the default when the backend is down)."""
    cached = _timezones.get(tenant_id)
    if cached and cached[0] > clock.monotonic():
        return cached[1]
    name = DEFAULT_TIMEZONE
    try:
        answer = await backend.call("GET", tenant_id, "/v1/tenant")
        if answer.ok and answer.body.get("timezone"):
            name = str(answer.body["timezone"])
    except BackendUnavailable as exc:
        logger.warning("tenant timezone unavailable: %s", exc)
        return name
    _timezones[tenant_id] = (clock.monotonic() + TIMEZONE_CACHE_SECONDS, name)
    return name


async def tenant_now(tracker: Tracker) -> datetime:
    tenant_id, _ = tenant_and_customer(tracker)
    return local_now(await tenant_timezone(tenant_id))
