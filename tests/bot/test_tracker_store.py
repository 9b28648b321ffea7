"""bot/tracker_store.py (issue 21): the production tracker store rides out a short database outage
and, wrapped by Rasa's agent, raises what it cannot ride out instead of answering from memory."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_store

pytestmark = pytest.mark.asyncio


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(tracker_store, "RETRY_PAUSE", 0.01)
    return tracker_store.SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "trackers.db"))


def down(times: list) -> callable:
    """A primary read that fails like an unreachable server the first len(times) calls."""
    async def retrieve(self, sender_id):
        if times:
            times.pop()
            raise sa.exc.OperationalError("select", {}, Exception("connection refused"))
        return DialogueStateTracker(sender_id, [])
    return retrieve


async def test_pooled_connections_are_checked_before_use(store):
    assert store.engine.pool._pre_ping is True


async def test_a_short_outage_is_ridden_out(store, monkeypatch):
    monkeypatch.setattr(rasa_stores.SQLTrackerStore, "retrieve", down([1, 1, 1]))
    tracker = await store.retrieve("shop:c1")
    assert tracker is not None and tracker.sender_id == "shop:c1"


async def test_a_longer_outage_raises(store, monkeypatch):
    monkeypatch.setattr(tracker_store, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(rasa_stores.SQLTrackerStore, "retrieve", down([1] * 1000))
    with pytest.raises(sa.exc.OperationalError):
        await store.retrieve("shop:c1")


async def test_the_agents_wrapper_raises_instead_of_answering_from_memory(store, monkeypatch):
    monkeypatch.setattr(tracker_store, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(rasa_stores.SQLTrackerStore, "retrieve", down([1] * 1000))
    wrapped = rasa_stores.FailSafeTrackerStore(store)
    assert await wrapped.retrieve("shop:c1") is None  # Rasa's own: "no tracker", a new session
    agent = SimpleNamespace(tracker_store=wrapped)
    tracker_store.make_strict(agent)
    tracker_store.make_strict(agent)  # idempotent
    with pytest.raises(sa.exc.OperationalError):
        await wrapped.retrieve("shop:c1")
    async def failing_save(self, tracker):
        raise sa.exc.OperationalError("insert", {}, Exception("connection refused"))
    monkeypatch.setattr(rasa_stores.SQLTrackerStore, "save", failing_save)
    with pytest.raises(sa.exc.OperationalError):
        await wrapped.save(DialogueStateTracker("shop:c1", []))
    assert wrapped._fallback_tracker_store is None  # nothing was kept in this replica's memory


async def test_other_stores_keep_rasas_behaviour(tmp_path):
    wrapped = rasa_stores.FailSafeTrackerStore(rasa_stores.InMemoryTrackerStore(None))
    tracker_store.make_strict(SimpleNamespace(tracker_store=wrapped))
    assert wrapped._on_tracker_store_error is None
