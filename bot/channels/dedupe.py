"""Drops repeated Twilio deliveries of one MessageSid, and keeps a failed one retryable.

A key moves through two states: `pending` while its turn runs (with the time it started: after
`pending_seconds` a turn that died with its process is taken over by the next retry, `abandoned`)
and `done` once the customer was answered (kept for `ttl_seconds`). A failed turn releases its key so that the retry is processed.
A turn that ran but whose replies the backend could not take is `unsent`, with the replies: the
retry hands them over again instead of running the turn a second time (which would put the message
in the tracker twice and move a form on twice).

Where the keys live, and what that guarantees:
- Redis (REDIS_URL set): shared by every rasa replica, so a repeat is recognised whichever replica
  it reaches: each MessageSid is answered once.
- This process: without Redis (the embedded default, one replica) and, automatically, whenever
  Redis cannot be reached. Every key is also kept here, so a replica recognises the repeats it saw
  itself even across a Redis outage. With several replicas and Redis down, a repeat reaching another
  replica is processed again: the customer may be answered twice, but no message is lost.
"""
from __future__ import annotations

import enum
import json
import logging
import time
from typing import Any, Dict, List, Optional, Tuple

from redis import asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PENDING = b"pending"
DONE = b"done"
UNSENT = b"unsent:"  # followed by the replies, as JSON
# Local keys kept before expired ones are swept.
LOCAL_SWEEP_AT = 10000


class Claim(enum.Enum):
    NEW = "new"          # first delivery: process it
    PENDING = "pending"  # a turn for it is running now (here or on another replica)
    DONE = "done"        # answered before: drop it
    UNSENT = "unsent"    # its turn ran but the replies were not handed over: send `parked` ones
    # Its turn started pending_seconds ago and never finished (the replica died): it may have run
    # to the tracker before that, so look there before running it again.
    ABANDONED = "abandoned"


def _claim_of(state: bytes) -> Claim:
    if state == DONE:
        return Claim.DONE
    if state.startswith(UNSENT):
        return Claim.UNSENT
    return Claim.PENDING


class Deduplicator:
    """`claim` a key before its turn, then `complete` it once answered or `release` it on failure."""

    def __init__(self, redis_url: Optional[str], ttl_seconds: int = 86400,
                 pending_seconds: int = 60, prefix: str = "wa:inbound:") -> None:
        self._ttl = ttl_seconds
        self._pending_ttl = pending_seconds
        self._prefix = prefix
        self._redis = (aioredis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
                       if redis_url else None)
        self._local: Dict[str, Tuple[bytes, float]] = {}

    # -- this process -------------------------------------------------------------------------
    def _local_get(self, key: str) -> Optional[bytes]:
        entry = self._local.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def _local_set(self, key: str, state: bytes, ttl: int) -> None:
        now = time.monotonic()
        if len(self._local) > LOCAL_SWEEP_AT:
            self._local = {k: v for k, v in self._local.items() if v[1] > now}
        self._local[key] = (state, now + ttl)

    # -- shared -------------------------------------------------------------------------------
    async def claim(self, key: str) -> Claim:
        seen = self._local_get(key)
        if seen is not None:
            return _claim_of(seen)
        if self._redis is not None:
            try:
                name, now = self._prefix + key, time.time()
                mine = PENDING + b":" + repr(now).encode()
                if await self._redis.set(name, mine, nx=True, ex=self._ttl):
                    self._local_set(key, PENDING, self._pending_ttl)
                    return Claim.NEW
                state = await self._redis.get(name)
                if state is None:  # expired between the two calls: claim it again
                    return await self.claim(key)
                if state.startswith(PENDING + b":"):
                    if now - float(state.split(b":", 1)[1]) < self._pending_ttl:
                        return Claim.PENDING
                    # Its turn died with its replica: the first retry to swap the claim takes it.
                    if await self._redis.set(name, mine, xx=True, ex=self._ttl, get=True) == state:
                        self._local_set(key, PENDING, self._pending_ttl)
                        return Claim.ABANDONED
                    return Claim.PENDING
                return _claim_of(state)
            except (RedisError, OSError) as exc:
                logger.warning("dedupe: Redis unavailable (%r); deciding in this process", exc)
        self._local_set(key, PENDING, self._pending_ttl)
        return Claim.NEW

    async def complete(self, key: str) -> None:
        """The customer was answered: later deliveries of the key are dropped."""
        self._local_set(key, DONE, self._ttl)
        if self._redis is not None:
            try:
                await self._redis.set(self._prefix + key, DONE, ex=self._ttl)
            except (RedisError, OSError) as exc:
                logger.warning("dedupe: Redis unavailable (%r); %s is done in this process only",
                               exc, key.split(":", 1)[0])

    async def park(self, key: str, replies: List[Dict[str, Any]]) -> None:
        """The turn ran but its replies were not handed over: a retry sends these (`parked`)."""
        state = UNSENT + json.dumps(replies).encode()
        self._local_set(key, state, self._ttl)
        if self._redis is not None:
            try:
                await self._redis.set(self._prefix + key, state, ex=self._ttl)
            except (RedisError, OSError) as exc:
                logger.warning("dedupe: Redis unavailable (%r); %s's replies wait in this process "
                               "only", exc, key.split(":", 1)[0])

    async def parked(self, key: str) -> Optional[List[Dict[str, Any]]]:
        """The replies `park` kept for the key, or None."""
        state = self._local_get(key)
        if (state is None or not state.startswith(UNSENT)) and self._redis is not None:
            try:
                state = await self._redis.get(self._prefix + key)
            except (RedisError, OSError) as exc:
                logger.warning("dedupe: Redis unavailable (%r)", exc)
        if state is None or not state.startswith(UNSENT):
            return None
        return json.loads(state[len(UNSENT):])

    async def release(self, key: str) -> None:
        """The turn failed before answering: Twilio's retry of the key is processed."""
        self._local.pop(key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(self._prefix + key)
            except (RedisError, OSError) as exc:
                # The pending key expires after pending_seconds; a retry before then gets 503.
                logger.warning("dedupe: Redis unavailable (%r); the claim expires by itself", exc)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.close()
