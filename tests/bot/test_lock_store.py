"""bot/lock_store.py (issue 21): Rasa's Redis lock store, riding out a Redis restart."""
from __future__ import annotations

import asyncio
import os
from urllib.parse import urlparse

import pytest
from rasa.core import lock_store as rasa_locks
from redis.exceptions import ConnectionError as RedisConnectionError

from bot import lock_store

pytestmark = pytest.mark.asyncio


@pytest.fixture
def store(monkeypatch):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.fail("TEST_REDIS_URL is not set: run the tests through `make test`")
    parsed = urlparse(url)
    monkeypatch.setattr(lock_store, "RETRY_PAUSE", 0.01)
    return lock_store.RedisLockStore(host=parsed.hostname, port=parsed.port,
                                     db=int(parsed.path.strip("/") or 0))


async def test_a_customers_turns_run_one_after_the_other(store):
    order = []

    async def turn(name: str, pause: float) -> None:
        async with store.lock("shop:c1", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            await asyncio.sleep(pause)
            order.append(f"{name} out")

    first = asyncio.ensure_future(turn("a", 0.2))
    await asyncio.sleep(0.05)
    await asyncio.gather(first, turn("b", 0))
    assert order == ["a in", "a out", "b in", "b out"]
    assert store.get_lock("shop:c1") is None  # released


async def test_redis_unreachable_for_a_moment_is_ridden_out(store, monkeypatch):
    real = rasa_locks.RedisLockStore.get_lock
    failures = [1, 1, 1]

    def flaky(self, conversation_id):
        if failures:
            failures.pop()
            raise RedisConnectionError("Connection refused")
        return real(self, conversation_id)

    monkeypatch.setattr(rasa_locks.RedisLockStore, "get_lock", flaky)
    async with store.lock("shop:c2", wait_time_in_seconds=0.01):
        pass
    assert not failures and store.get_lock("shop:c2") is None


async def test_a_longer_outage_fails_the_turn(store, monkeypatch):
    monkeypatch.setattr(lock_store, "RETRY_SECONDS", 0.05)

    def down(self, conversation_id):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(rasa_locks.RedisLockStore, "get_lock", down)
    with pytest.raises(rasa_locks.LockError):
        async with store.lock("shop:c3"):
            pass
