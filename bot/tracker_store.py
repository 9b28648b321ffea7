"""Rasa's SQL tracker store for several replicas (endpoints.production.yml names it as
`type: bot.tracker_store.SQLTrackerStore`).

Three changes to Rasa 3.6's own, each found by tests/deploy/test_replicas.py restarting PostgreSQL
while conversations run:
- Pooled connections are tested when checked out (`pool_pre_ping`): without it, each connection
  the restart closed fails the first query it is given.
- A read or write that fails because the server cannot be reached is tried again for up to
  RETRY_SECONDS (a restart takes a second or two), within the channel's 4 s turn deadline.
- Rasa's agent wraps every store in a FailSafeTrackerStore, which on an error reads "no tracker"
  (the customer's conversation starts afresh, and that empty session is what the next successful
  save writes) and saves into the replica's memory (the turn is lost for the other replicas and at
  the next restart). `make_strict` makes the wrapper raise instead: the turn fails and the channel
  answers it (its trouble notice), and the conversation's state is left as it was.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar

import sqlalchemy as sa
from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)
RETRY_SECONDS = 2.5
RETRY_PAUSE = 0.25
T = TypeVar("T")


class SQLTrackerStore(rasa_stores.SQLTrackerStore):
    strict = True  # see make_strict

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True,
                                       **rasa_stores.create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                return await call()
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                if time.monotonic() >= deadline:
                    raise
                logger.warning("tracker store: %s failed (%s); trying again", what,
                               type(exc).__name__)
                await asyncio.sleep(RETRY_PAUSE)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await self._retrying("reading a tracker", lambda: super(
            SQLTrackerStore, self).retrieve(sender_id))

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return await self._retrying("reading a tracker", lambda: super(
            SQLTrackerStore, self).retrieve_full_tracker(sender_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        # A failed commit stored nothing: saving again adds the same new events once.
        await self._retrying("saving a tracker", lambda: super(SQLTrackerStore, self).save(tracker))


def _raise(error: Exception) -> None:
    raise error


def make_strict(agent: Any) -> None:
    """The agent's FailSafeTrackerStore raises the store's errors instead of answering from memory,
    when the store is this module's (idempotent; other stores keep Rasa's behaviour)."""
    store = getattr(agent, "tracker_store", None)
    if (isinstance(store, rasa_stores.FailSafeTrackerStore)
            and getattr(store._tracker_store, "strict", False)
            and store._on_tracker_store_error is None):
        store._on_tracker_store_error = _raise
