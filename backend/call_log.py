"""The backend calls of each assistant turn in a sandbox tenant, for the designers' simulator.

Every customer message carries a request id (the WhatsApp channel's, put in the turn's metadata;
the channel and the action server send it to the backend as X-Request-ID). For a service-token
request with that header on behalf of a sandbox tenant, the backend keeps a small entry under the
request id in Redis: method, the route with its numeric ids (never a query string, a body or a
header), status, duration in ms and when it started. The simulator's debug view reads them back
for each turn (backend/sandbox/simulator/pages.py).

Bounded and cheap: one pipelined round trip per recorded request (RPUSH, LTRIM to the first
MAX_CALLS, EXPIRE after TTL_SECONDS); no Redis configured, nothing recorded. When Redis does not
answer, the request goes on as if nothing happened: the failure is logged once, and recording is
skipped for RETRY_AFTER_SECONDS before it is tried again.

Which tenants are sandbox tenants is read from the database once per tenant and kept for
SANDBOX_CACHE_SECONDS (the flag is set when a tenant is created and no route changes it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from redis import Redis, RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "simulator:calls:"
TTL_SECONDS = 3600
MAX_CALLS = 50
REDIS_TIMEOUT_SECONDS = 0.25
RETRY_AFTER_SECONDS = 30.0
SANDBOX_CACHE_SECONDS = 60.0
SANDBOX_CACHE_SIZE = 1024
MAX_REQUEST_IDS = 200  # per read: a conversation's turns


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int
    ms: int
    at: str  # when the request started, ISO 8601 UTC with milliseconds


def _key(request_id: str) -> str:
    return KEY_PREFIX + request_id


class CallLog:
    """Records and reads the calls kept under request ids (one Redis client per process)."""

    def __init__(self, redis_url: str, is_sandbox: Callable[[str], bool]) -> None:
        self._redis = Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                     socket_timeout=REDIS_TIMEOUT_SECONDS)
        self._is_sandbox = is_sandbox
        self._sandbox: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_logged = False

    # ------------------------------------------------------------------ Redis's health

    def available(self) -> bool:
        """False while a failure's back-off lasts."""
        return time.monotonic() >= self._down_until

    def _failed(self, error: RedisError) -> None:
        with self._lock:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            first = not self._down_logged
            self._down_logged = True
        if first:
            log.warning("simulator call log: Redis did not answer (%s); backend calls are not "
                        "recorded until it does", type(error).__name__)

    def _answered(self) -> None:
        if self._down_logged:
            with self._lock:
                was_down, self._down_logged = self._down_logged, False
            if was_down:
                log.info("simulator call log: Redis answers again; recording")

    # ------------------------------------------------------------------ which tenants

    def sandbox_tenant(self, tenant_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._sandbox.get(tenant_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = bool(self._is_sandbox(tenant_id))
        with self._lock:
            self._sandbox[tenant_id] = (found, now + SANDBOX_CACHE_SECONDS)
            self._sandbox.move_to_end(tenant_id)
            while len(self._sandbox) > SANDBOX_CACHE_SIZE:
                self._sandbox.popitem(last=False)
        return found

    # ------------------------------------------------------------------ writing and reading

    def record(self, request_id: str, call: Call) -> None:
        """Keep one call under its request id; never raises."""
        if not self.available():
            return
        key = _key(request_id)
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.rpush(key, json.dumps(asdict(call), separators=(",", ":")))
            pipe.ltrim(key, 0, MAX_CALLS - 1)
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()
        except RedisError as error:
            self._failed(error)
            return
        self._answered()

    def calls(self, request_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]] | None:
        """The calls kept under each request id, oldest first; None when Redis does not answer."""
        wanted = list(dict.fromkeys(r for r in request_ids if r))[:MAX_REQUEST_IDS]
        if not wanted:
            return {}
        if not self.available():
            return None
        try:
            pipe = self._redis.pipeline(transaction=False)
            for request_id in wanted:
                pipe.lrange(_key(request_id), 0, MAX_CALLS - 1)
            answers = pipe.execute()
        except RedisError as error:
            self._failed(error)
            return None
        self._answered()
        found: dict[str, list[dict[str, Any]]] = {}
        for request_id, raw in zip(wanted, answers):
            entries = []
            for item in raw:
                try:
                    entry = json.loads(item)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    entries.append(entry)
            found[request_id] = sorted(entries, key=lambda e: str(e.get("at", "")))
        return found
