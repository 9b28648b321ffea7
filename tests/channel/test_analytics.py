"""The classification event broker: what it extracts from Rasa's events, and how it batches,
retries and drops against a recording backend on loopback."""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import pytest_asyncio
from aiohttp import web
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from bot.analytics import CLASSIFICATIONS_PATH, ClassificationBroker, classification_of
from tests.channel.conftest import SERVICE_TOKEN, free_port
from tests.contract.contract import assert_conform, watch

ROOT = Path(__file__).resolve().parents[2]
SENDER = "shop:+254712345678"


def user_event(text: str = "mnauza viatu?", message_id: str = "m1", **overrides: Any) -> Dict:
    """A `user` event exactly as Rasa's tracker store hands it to a broker."""
    parse_data = {
        "text": text,
        "intent": {"name": "browse_catalog", "confidence": 0.8731},
        "intent_ranking": [{"name": "browse_catalog", "confidence": 0.8731},
                           {"name": "ask_price", "confidence": 0.07},
                           {"name": "greet", "confidence": 0.03},
                           {"name": "goodbye", "confidence": 0.01}],
        "entities": [{"entity": "product", "value": "viatu", "start": 7, "end": 12,
                      "extractor": "DIETClassifier", "confidence_entity": 0.99},
                     {"entity": "language", "value": "sw", "start": 13, "end": 13,
                      "extractor": "LanguageDetector"}],
        "message_id": message_id,
        "metadata": {},
    }
    event = UserUttered(
        text, parse_data["intent"], parse_data["entities"], parse_data,
        timestamp=1_795_000_000.5, input_channel="whatsapp", message_id=message_id,
        metadata={"tenant_id": "shop", "customer_phone": "+254712345678",
                  "message_sid": "SM" + message_id, "tenant_language": "sw"},
    )
    body = {"sender_id": SENDER, **event.as_dict()}
    body.update(overrides)
    return body


def test_a_user_event_becomes_one_classification() -> None:
    row = classification_of(user_event())
    assert row == {
        "tenant_id": "shop",
        "sender_id": SENDER,
        "message_id": "m1",
        "message_sid": "SMm1",
        "text": "mnauza viatu?",
        "intent": "browse_catalog",
        "confidence": 0.8731,
        "language": "sw",
        "ranking": [{"name": "browse_catalog", "confidence": 0.8731},
                    {"name": "ask_price", "confidence": 0.07},
                    {"name": "greet", "confidence": 0.03}],
        "entities": [{"entity": "product", "value": "viatu"}],
        "timestamp": "2026-11-18T11:06:40.500000+00:00",
    }


def test_other_events_and_triggered_intents_are_ignored() -> None:
    for event in (ActionExecuted("action_listen"), BotUttered("Karibu!")):
        assert classification_of({"sender_id": SENDER, **event.as_dict()}) is None
    external = UserUttered.create_external("EXTERNAL_payment_result", [], "whatsapp")
    assert classification_of({"sender_id": SENDER, **external.as_dict()}) is None
    # Without channel metadata (rasa shell, the HTTP API) the tenant comes from the sender id.
    row = classification_of(user_event(metadata=None))
    assert row is not None and row["tenant_id"] == "shop" and row["message_sid"] is None
    assert classification_of(user_event(metadata=None, sender_id="default")) is None


class Backend:
    """Records each batch; answers with the queued statuses first, then 202."""

    def __init__(self) -> None:
        self.batches: List[List[Dict]] = []
        self.statuses: List[int] = []
        self.headers: List[str] = []
        self.delay = 0.0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(CLASSIFICATIONS_PATH, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.headers.append(request.headers.get("Authorization", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 202
        body = await request.json()
        if status != 202:
            return web.json_response({"code": status}, status=status)
        self.batches.append(body["classifications"])
        return web.json_response({"stored": len(body["classifications"])}, status=status)


@pytest_asyncio.fixture
async def backend():
    fake = Backend()
    app = fake.app()
    exchanges = watch(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()
    assert_conform(exchanges)


async def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_batches_of_at_most_batch_size_without_blocking_the_turn(backend) -> None:
    broker = ClassificationBroker(backend.url, SERVICE_TOKEN, batch_size=100, flush_interval=5)
    backend.delay = 0.2  # a slow backend must not slow publish()
    started = time.perf_counter()
    for number in range(250):
        broker.publish(user_event(message_id=f"m{number}"))
    publishing = time.perf_counter() - started
    assert publishing < 0.2, f"publish blocked for {publishing:.3f}s"
    # Two full batches go at once; the last 50 wait for close() (the interval is 5 s).
    await wait_for(lambda: len(backend.batches) == 2)
    await broker.close()
    assert [len(batch) for batch in backend.batches] == [100, 100, 50]
    ids = [row["message_id"] for batch in backend.batches for row in batch]
    assert ids == [f"m{number}" for number in range(250)]
    assert set(backend.headers) == {f"Bearer {SERVICE_TOKEN}"}
    assert (broker.sent, broker.dropped) == (250, 0)


@pytest.mark.asyncio
async def test_a_partial_batch_goes_after_the_flush_interval(backend) -> None:
    broker = ClassificationBroker(backend.url, SERVICE_TOKEN, flush_interval=0.3)
    started = time.monotonic()
    for number in range(3):
        broker.publish(user_event(message_id=f"t{number}"))
    broker.publish({"sender_id": SENDER, **BotUttered("hi").as_dict()})  # not kept
    await wait_for(lambda: backend.batches)
    assert 0.2 < time.monotonic() - started < 2.0
    assert [row["message_id"] for row in backend.batches[0]] == ["t0", "t1", "t2"]
    await broker.close()


@pytest.mark.asyncio
async def test_backend_errors_are_retried_with_backoff(backend) -> None:
    backend.statuses = [503, 500]
    broker = ClassificationBroker(backend.url, SERVICE_TOKEN, flush_interval=0.05, backoff=0.05)
    broker.publish(user_event())
    await wait_for(lambda: backend.batches)
    assert len(backend.headers) == 3 and broker.dropped == 0
    await broker.close()


@pytest.mark.asyncio
async def test_a_batch_is_dropped_with_a_log_after_the_last_attempt(backend, caplog) -> None:
    backend.statuses = [500] * 3 + [422]
    broker = ClassificationBroker(backend.url, SERVICE_TOKEN, flush_interval=0.05,
                                  max_attempts=3, backoff=0.01)
    with caplog.at_level(logging.ERROR, logger="bot.analytics"):
        broker.publish(user_event(message_id="lost"))
        await wait_for(lambda: broker.dropped == 1)
        broker.publish(user_event(message_id="refused"))  # 4xx: not retried
        await wait_for(lambda: broker.dropped == 2)
    assert len(backend.headers) == 4
    assert "dropped 1 classifications after 3 attempt(s): HTTP 500" in caplog.text
    assert "after 1 attempt(s): HTTP 422" in caplog.text
    await broker.close()


@pytest.mark.asyncio
async def test_an_unreachable_backend_drops_after_retrying() -> None:
    broker = ClassificationBroker(f"http://127.0.0.1:{free_port()}", SERVICE_TOKEN,
                                  flush_interval=0.05, max_attempts=2, backoff=0.01)
    broker.publish(user_event())
    await wait_for(lambda: broker.dropped == 1)
    await broker.close()


def test_a_full_queue_drops_the_oldest_with_a_warning(caplog) -> None:
    broker = ClassificationBroker("http://127.0.0.1:9", SERVICE_TOKEN, max_queue=5)
    with caplog.at_level(logging.WARNING, logger="bot.analytics"):
        for number in range(8):  # no event loop here: nothing is sent, the queue fills
            broker.publish(user_event(message_id=f"q{number}"))
    assert [row["message_id"] for row in broker.queue] == [f"q{n}" for n in range(3, 8)]
    assert broker.dropped == 3
    assert "classification queue full" in caplog.text


@pytest.mark.asyncio
async def test_rasa_builds_the_broker_from_endpoints_yml_and_streams_tracker_events(
    backend, monkeypatch
) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("SERVICE_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:1/webhook")
    monkeypatch.setenv("ACTIONS_TOKEN", "t")
    monkeypatch.setenv("RASA_TRACKER_DB", "unused.db")
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "event_broker")
    assert config is not None and config.type == "bot.analytics.ClassificationBroker"
    broker = await EventBroker.create(config)
    assert isinstance(broker, ClassificationBroker)
    assert broker.url == backend.url + CLASSIFICATIONS_PATH
    broker.flush_interval = 0.05

    store = InMemoryTrackerStore(Domain.empty(), event_broker=broker)
    tracker = DialogueStateTracker(SENDER, slots=[])
    event = user_event()
    tracker.update(UserUttered(
        event["text"], event["parse_data"]["intent"], event["parse_data"]["entities"],
        event["parse_data"], input_channel="whatsapp", message_id="m1",
        metadata=event["metadata"]))
    tracker.update(BotUttered("Tuko na viatu!"))
    await store.save(tracker)

    await wait_for(lambda: backend.batches)
    [[row]] = backend.batches
    assert (row["tenant_id"], row["message_sid"], row["intent"]) == (
        "shop", "SMm1", "browse_catalog")
    await broker.close()


@pytest.mark.asyncio
async def test_production_endpoints_use_the_same_broker(monkeypatch) -> None:
    monkeypatch.setenv("BACKEND_URL", "http://backend:8000")
    for name in ("ACTION_SERVER_URL", "ACTIONS_TOKEN", "TRACKER_DB_HOST", "TRACKER_DB_PORT", "TRACKER_DB_NAME",
                 "TRACKER_DB_USER", "TRACKER_DB_PASSWORD", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.setenv(name, "x")
    config = read_endpoint_config(str(ROOT / "endpoints.production.yml"), "event_broker")
    assert config is not None and config.type == "bot.analytics.ClassificationBroker"
    assert config.url == "http://backend:8000"
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)
    assert await ClassificationBroker.from_endpoint_config(config) is None  # no token: off
    monkeypatch.setenv("SERVICE_TOKEN", "t")
    broker = await ClassificationBroker.from_endpoint_config(
        EndpointConfig(url="http://b", type="x", batch_size="20", flush_interval="0.5"))
    assert broker is not None and (broker.batch_size, broker.flush_interval) == (20, 0.5)
