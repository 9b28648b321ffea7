"""Rasa's Redis lock store for several replicas (endpoints.production.yml names it as
`type: bot.lock_store.RedisLockStore`): a customer's turns never run at once on two replicas.

Rasa 3.6's own fails the turn when Redis cannot be reached at the moment a conversation's ticket is
issued, and the first command on each pooled connection fails after Redis restarted. Found by
tests/deploy/test_replicas.py killing Redis while conversations run: this one tries issuing the
ticket, and releasing it after the turn, again for up to RETRY_SECONDS (a supervised restart takes a
second or two), without blocking the replica's other turns.
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, TypeVar

from rasa.core import lock_store as rasa_locks
from rasa.core.lock import TicketLock
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
RETRY_SECONDS = 2.5
RETRY_PAUSE = 0.25
T = TypeVar("T")


class RedisLockStore(rasa_locks.RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by its module path
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    async def _retrying(self, what: str, call: Callable[[], T]) -> T:
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return call()
            except (rasa_locks.LockError, RedisError, OSError) as exc:
                if time.monotonic() >= deadline:
                    raise
                logger.warning("lock store: %s failed (%s); trying again", what, type(exc).__name__)
                await asyncio.sleep(RETRY_PAUSE)

    @asynccontextmanager
    async def lock(self, conversation_id: str,
                   lock_lifetime: float = rasa_locks.LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        ticket = await self._retrying(
            "issuing a ticket", lambda: self.issue_ticket(conversation_id, lock_lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            # Else the ticket blocks the conversation until it expires (TICKET_LOCK_LIFETIME).
            await self._retrying("releasing a ticket", lambda: self.cleanup(conversation_id, ticket))
