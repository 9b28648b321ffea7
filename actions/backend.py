"""The action server's HTTP client for the backend: service token, acting for one tenant."""
from __future__ import annotations

import asyncio
import os
from typing import Any, Dict, List, Optional

import aiohttp

from kit.backend_http import BackendSession
from observability import logs


class BackendUnavailable(Exception):
    """The backend could not be reached, timed out or failed (5xx)."""


class NotFound(Exception):
    """The backend answered 404 for this tenant."""


class Answer:
    """A backend answer below 500: status and JSON body (an error body has "description")."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if body is not None else {}

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def description(self) -> str:
        return str(self.body.get("description", "")) if isinstance(self.body, dict) else ""


# The longest text GET /v1/services/match reads (backend/api/services/schemas.py).
MAX_MATCH_TEXT = 1000


class Backend:
    """One shared connection pool per action server process, created inside the running loop."""

    def __init__(self, base_url: Optional[str] = None, service_token: Optional[str] = None,
                 timeout_seconds: float = 5.0) -> None:
        self.base_url = (base_url or os.environ.get("BACKEND_URL", "http://127.0.0.1:8000")).rstrip("/")
        self.http = BackendSession(service_token or os.environ.get("SERVICE_TOKEN", ""),
                                   timeout_seconds)

    async def close(self) -> None:
        await self.http.close()

    async def get(self, tenant_id: str, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """A GET whose only acceptable answer is 200: 404 raises NotFound, anything else
        BackendUnavailable."""
        answer = await self.call("GET", tenant_id, path, params=params)
        if answer.status == 404:
            raise NotFound(path)
        if answer.status != 200:
            raise BackendUnavailable(f"GET {path} answered {answer.status}")
        return answer.body

    async def call(self, method: str, tenant_id: str, path: str, *,
                   json: Optional[Dict[str, Any]] = None,
                   params: Optional[Dict[str, Any]] = None,
                   customer: Optional[str] = None,
                   idempotency_key: Optional[str] = None) -> Answer:
        """One request as the assistant for `tenant_id` (acting for the customer with reference
        `customer` when given: the backend resolves it to the tenant's customer).

        4xx answers are returned for the caller to word; 5xx, timeouts and network errors raise
        BackendUnavailable.
        """
        # The turn's request id and conversation, so the backend's lines and jobs carry them.
        headers = {**logs.outgoing_headers(), "X-TENANT-ID": tenant_id}
        if customer:
            headers["X-CUSTOMER-REF"] = customer
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:255]
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            async with self.http.session().request(method, self.base_url + path, json=json,
                                                   params=params, headers=headers) as resp:
                if resp.status >= 500:
                    raise BackendUnavailable(f"{method} {path} answered {resp.status}")
                body = await resp.json(content_type=None) if resp.status != 204 else {}
                return Answer(resp.status, body)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise BackendUnavailable(f"{method} {path}: {exc!r}") from exc

    async def products(self, tenant_id: str, q: Optional[str] = None,
                       category: Optional[str] = None, max_price: Optional[int] = None,
                       in_stock: bool = True, page_size: int = 10) -> Dict[str, Any]:
        return await self.get(tenant_id, "/v1/products", {
            "q": q, "category": category, "max_price": max_price,
            "in_stock": "true" if in_stock else None, "page_size": page_size})

    async def product(self, tenant_id: str, product_id: int) -> Dict[str, Any]:
        return await self.get(tenant_id, f"/v1/products/{int(product_id)}")

    async def match_services(self, tenant_id: str, text: str, mode: str = "name",
                             service_id: Any = None) -> List[Dict[str, Any]]:
        """The tenant's bookable services `text` names, best first (GET /v1/services/match:
        `mode` "name" for a name as typed, "message" for a whole message; `service_id` rates
        that service alone). Any answer but 200 raises BackendUnavailable."""
        answer = await self.call("GET", tenant_id, "/v1/services/match", params={
            "text": text[:MAX_MATCH_TEXT], "mode": mode, "service_id": service_id, "limit": 50})
        if answer.status != 200:
            raise BackendUnavailable(f"service match answered {answer.status}")
        return list(answer.body.get("results", []))


# The process-wide client; tests replace its base URL.
backend = Backend()
