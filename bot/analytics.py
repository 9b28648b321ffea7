"""Rasa event broker that reports how each customer message was classified to the backend.

Configured in endpoints.yml:

    event_broker:
      type: bot.analytics.ClassificationBroker
      url: ${BACKEND_URL}

Rasa hands every new tracker event to `publish` (synchronously, inside the turn). Only `user`
events are kept: their intent, confidence, top-3 ranking, entities, detected language, Rasa's
message id, the sender id and what the WhatsApp channel put in the metadata (tenant_id,
message_sid). They wait in a bounded in-memory queue (the oldest are dropped, with a warning,
when it is full) and a background task posts them in batches to
`POST /internal/v1/nlu/classifications` with the service token (SERVICE_TOKEN) every second or
every 100 events. A turn never waits for the backend; a failed batch is retried with backoff a
few times, then dropped with a log line. The log is analytics: losing some of it on a crash or
a long backend outage is accepted.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from datetime import datetime, timezone
from typing import Any, Deque, Dict, List, Optional

import aiohttp
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from kit.backend_http import BackendSession
from kit.sender import sender_tenant

logger = logging.getLogger(__name__)

CLASSIFICATIONS_PATH = "/internal/v1/nlu/classifications"
EXTERNAL_PREFIX = "EXTERNAL: "  # intents triggered through the HTTP API, not customers' words
LANGUAGE_ENTITY = "language"
RANKING_KEPT = 3
BACKEND_MAX_BATCH = 500


def _confidence(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(number, 0.0), 1.0)


def _timestamp(value: Any) -> Optional[str]:
    if not isinstance(value, (int, float)):
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()


def classification_of(event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The backend's row for a tracker event; None for anything but a customer's message."""
    if event.get("event") != "user":
        return None
    text = event.get("text") or ""
    if text.startswith(EXTERNAL_PREFIX):
        return None
    parse = event.get("parse_data") or {}
    metadata = event.get("metadata") or parse.get("metadata") or {}
    sender_id = str(event.get("sender_id") or "")
    tenant_id = metadata.get("tenant_id") or sender_tenant(sender_id)
    message_id = event.get("message_id") or parse.get("message_id")
    if not tenant_id or not message_id:
        return None
    intent = parse.get("intent") or {}
    ranking = [
        {"name": str(item["name"]), "confidence": _confidence(item.get("confidence"))}
        for item in (parse.get("intent_ranking") or [])
        if isinstance(item, dict) and item.get("name")
    ][:RANKING_KEPT]
    language = None
    entities: List[Dict[str, Any]] = []
    for entity in parse.get("entities") or []:
        if not isinstance(entity, dict) or not entity.get("entity"):
            continue
        if entity["entity"] == LANGUAGE_ENTITY:
            language = language or entity.get("value")
        else:
            entities.append({"entity": str(entity["entity"]), "value": entity.get("value")})
    if language is None:
        detection = parse.get("language_detection")
        if isinstance(detection, dict):
            language = detection.get("language")
    return {
        "tenant_id": str(tenant_id),
        "sender_id": sender_id or None,
        "message_id": str(message_id)[:64],
        "message_sid": metadata.get("message_sid"),
        "text": text[:4096],
        "intent": intent.get("name"),
        "confidence": _confidence(intent.get("confidence")),
        "language": str(language)[:16] if language else None,
        "ranking": ranking,
        "entities": entities,
        "timestamp": _timestamp(event.get("timestamp")),
    }


class ClassificationBroker(EventBroker):
    """Batches classifications of customer messages to the backend, off the turn's path."""

    def __init__(
        self,
        url: str,
        service_token: str,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue: int = 10_000,
        max_attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/") + CLASSIFICATIONS_PATH
        self.batch_size = max(1, min(batch_size, BACKEND_MAX_BATCH))
        self.flush_interval = flush_interval
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.queue: Deque[Dict[str, Any]] = deque()
        self.max_queue = max(1, max_queue)
        self.dropped = 0  # rows lost to a full queue or a batch the backend never took
        self.sent = 0
        self.http = BackendSession(service_token, timeout)
        self._task: Optional[asyncio.Task] = None
        self._wakeup: Optional[asyncio.Event] = None
        self._closing = False

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[asyncio.AbstractEventLoop] = None
    ) -> Optional["ClassificationBroker"]:
        options = dict(broker_config.kwargs)
        url = broker_config.url or os.environ.get("BACKEND_URL", "")
        token = options.pop("service_token", None) or os.environ.get("SERVICE_TOKEN", "")
        if not url or not token:
            logger.warning("classification log disabled: BACKEND_URL or SERVICE_TOKEN is not set")
            return None
        known = {"batch_size": int, "flush_interval": float, "max_queue": int,
                 "max_attempts": int, "backoff": float, "timeout": float}
        settings = {name: kind(options[name]) for name, kind in known.items() if name in options}
        return cls(url, token, **settings)

    # -- called by Rasa inside the turn: must never block or raise --------------------------

    def publish(self, event: Dict[str, Any]) -> None:
        try:
            row = classification_of(event)
        except Exception:  # a malformed event must not break the turn
            logger.exception("could not read a tracker event for the classification log")
            return
        if row is None:
            return
        if len(self.queue) >= self.max_queue:
            self.queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("classification queue full (%d): dropped the oldest; %d dropped "
                               "so far", self.max_queue, self.dropped)
        self.queue.append(row)
        self._ensure_worker()
        if len(self.queue) >= self.batch_size and self._wakeup is not None:
            self._wakeup.set()

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        """Send what is queued (bounded by the retries), then release the HTTP session."""
        self._closing = True
        if self._task is not None and not self._task.done():
            if self._wakeup is not None:
                self._wakeup.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=15)
            except asyncio.TimeoutError:
                self._task.cancel()
        elif self.queue:
            await self.flush()
        await self.http.close()

    # -- background sending ---------------------------------------------------------------

    def _ensure_worker(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a script): the rows wait for the next publish or close()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._wakeup = asyncio.Event()
        self._task = loop.create_task(self._run())

    async def _run(self) -> None:
        while True:
            if len(self.queue) < self.batch_size and not self._closing:
                assert self._wakeup is not None
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.flush_interval)
                except asyncio.TimeoutError:
                    pass
                self._wakeup.clear()
            if not self.queue:
                if self._closing:
                    return
                continue
            await self._send(self._take())

    def _take(self) -> List[Dict[str, Any]]:
        return [self.queue.popleft() for _ in range(min(self.batch_size, len(self.queue)))]

    async def flush(self) -> None:
        """Send everything queued now (tests, shutdown)."""
        while self.queue:
            await self._send(self._take())

    async def _send(self, batch: List[Dict[str, Any]]) -> bool:
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self.http.session().post(
                        self.url, json={"classifications": batch}) as resp:
                    if resp.status == 202:
                        self.sent += len(batch)
                        return True
                    error = f"HTTP {resp.status}: {(await resp.text())[:300]}"
                    if 400 <= resp.status < 500 and resp.status not in (408, 429):
                        break  # the backend refuses this batch; sending it again cannot help
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = repr(exc)
            if attempt < self.max_attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        self.dropped += len(batch)
        logger.error("dropped %d classifications after %d attempt(s): %s",
                     len(batch), attempt, error)
        return False
