"""Drops repeated Twilio deliveries of one MessageSid: Redis SET NX with a TTL, in memory without Redis."""
from __future__ import annotations

import time
from typing import Dict, Optional

from redis import asyncio as aioredis


class Deduplicator:
    """`claim` is true the first time a key is seen within the TTL; `release` forgets it.

    With a Redis URL every rasa replica shares the keys. Without one (the embedded default, one
    replica) the keys live in this process.
    """

    def __init__(self, redis_url: Optional[str], ttl_seconds: int = 86400,
                 prefix: str = "wa:inbound:") -> None:
        self._ttl = ttl_seconds
        self._prefix = prefix
        self._redis = aioredis.from_url(redis_url) if redis_url else None
        self._seen: Dict[str, float] = {}

    async def claim(self, key: str) -> bool:
        if self._redis is not None:
            return bool(await self._redis.set(self._prefix + key, b"1", nx=True, ex=self._ttl))
        now = time.monotonic()
        if len(self._seen) > 10000:
            self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
        expires = self._seen.get(key)
        if expires is not None and expires > now:
            return False
        self._seen[key] = now + self._ttl
        return True

    async def release(self, key: str) -> None:
        """Called when processing failed, so that Twilio's retry is processed."""
        if self._redis is not None:
            await self._redis.delete(self._prefix + key)
        else:
            self._seen.pop(key, None)
