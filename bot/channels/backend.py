"""The channel's calls to the backend's internal API: tenant routing, inbound log, outbound replies."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import aiohttp

from kit.backend_http import BackendSession
from observability import logs

logger = logging.getLogger(__name__)


class BackendError(Exception):
    """The backend could not be reached or answered with an unexpected status."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    whatsapp_number: str
    auth_token: str
    sandbox: bool
    primary_language: str
    status: str = "active"
    timezone: str = "Africa/Nairobi"
    quiet_hours: Optional[Dict[str, Any]] = None


def customer_ref(logged: Dict[str, Any]) -> str:
    """The opaque customer reference the inbound log issued: Rasa's sender id is
    `<tenant>:<ref>`, so the tracker store never holds the phone. No reference, no turn."""
    ref = logged.get("customer_ref") if isinstance(logged, dict) else None
    if not isinstance(ref, str) or not ref:
        raise BackendError("the inbound log answered without a customer_ref")
    return ref


def phone_hint(e164: str) -> str:
    """The customer's number as shown back to them, masked: +254712345678 → 0712 *** 678."""
    national = "0" + e164[4:] if e164.startswith("+254") else e164
    return f"{national[:4]} *** {national[-3:]}"


# Numbers whose routing is cached (tenants' numbers, and senders checked for being one).
MAX_CACHED_NUMBERS = 10000


class BackendClient:
    """Talks to the backend with the service token; caches tenant routing for `cache_seconds`."""

    def __init__(self, base_url: str, service_token: str, cache_seconds: float = 60.0,
                 timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = BackendSession(service_token, timeout_seconds)
        self._cache_seconds = cache_seconds
        self._tenants: Dict[str, tuple[float, Optional[Tenant]]] = {}

    async def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        # A connection the backend dropped while the request was written is tried once more on
        # a new one: every call here is idempotent (tenant lookup; inbound keyed by MessageSid;
        # outbound by the message it answers and its position).
        for attempt in (1, 2):
            try:
                # The request id, tenant and conversation of the webhook being handled, if any.
                headers = logs.outgoing_headers()
                async with self.http.session().request(method, self.base_url + path,
                                                       headers=headers, **kwargs) as resp:
                    body = await resp.json(content_type=None) if resp.content_length != 0 \
                        else None
                    return resp.status, body
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
                if attempt == 2:
                    raise BackendError(f"{method} {path}: {exc!r}") from exc
                logger.warning("%s %s: %r; trying once more", method, path, exc)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise BackendError(f"{method} {path}: {exc!r}") from exc
        raise AssertionError("unreachable")

    async def resolve_tenant(self, whatsapp_to: str) -> Optional[Tenant]:
        """The tenant owning the number (a `To`, or a `From` checked for being a business number),
        or None when no tenant has it."""
        cached = self._tenants.get(whatsapp_to)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        status, body = await self._request(
            "GET", "/internal/v1/tenants/resolve", params={"number": whatsapp_to})
        if status in (400, 404):
            tenant = None
        elif status == 200:
            tenant = Tenant(
                tenant_id=body["tenant_id"], name=body["name"],
                whatsapp_number=body["whatsapp_number"], auth_token=body["twilio_auth_token"],
                sandbox=bool(body["sandbox"]), primary_language=body.get("primary_language") or "en",
                status=body.get("status") or "active",
                timezone=body.get("timezone") or "Africa/Nairobi",
                quiet_hours=body.get("quiet_hours"))
        else:
            raise BackendError(f"tenant routing answered {status}: {body}")
        now = time.monotonic()
        if len(self._tenants) >= MAX_CACHED_NUMBERS:  # customers' numbers are looked up too
            self._tenants = {k: v for k, v in self._tenants.items() if v[0] > now}
            if len(self._tenants) >= MAX_CACHED_NUMBERS:
                self._tenants.clear()
        self._tenants[whatsapp_to] = (now + self._cache_seconds, tenant)
        return tenant

    async def log_inbound(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        status, body = await self._request("POST", "/internal/v1/messages/inbound", json=payload)
        if status not in (200, 201):
            raise BackendError(f"inbound log answered {status}: {body}")
        return body

    async def send_outbound(self, tenant_id: str, to: str, messages: List[Dict[str, Any]],
                            in_reply_to: Optional[str]) -> List[int]:
        payload = {"tenant_id": tenant_id, "to": to, "in_reply_to": in_reply_to,
                   "messages": messages}
        status, body = await self._request("POST", "/internal/v1/messages/outbound", json=payload)
        if status != 202:
            raise BackendError(f"outbound answered {status}: {body}")
        return body["ids"]

    async def close(self) -> None:
        await self.http.close()
