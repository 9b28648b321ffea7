"""The channel's operability: one request id per webhook (a proxy's X-Request-ID kept, else made),
echoed back, sent to the backend and into the Rasa turn's metadata; JSON lines carrying it with
tenant and conversation and no phone number; /metrics with webhook outcomes and turn latency."""
from __future__ import annotations

import io
import json
import logging
from typing import Dict, Iterator, List, Tuple

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from twilio.request_validator import RequestValidator

from observability.logs import json_formatter
from tests.channel.conftest import AUTH_TOKEN, SERVICE_TOKEN, FakeBackend, free_port
from tests.channel.conftest import CUSTOMER_REF
from tests.channel.test_whatsapp_channel import CUSTOMER, form

pytestmark = pytest.mark.asyncio
REQUEST_ID = "RQ-4f1c2d3e4b5a69788796"


class TracingBackend(FakeBackend):
    """The fake backend, also keeping the headers of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: List[Tuple[str, Dict[str, str]]] = []

    def app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler):
            self.calls.append((request.path, dict(request.headers)))
            return await handler(request)

        app = super().app()
        app.middlewares.append(record)
        return app


@pytest_asyncio.fixture
async def backend():
    fake = TracingBackend()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter("rasa"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


async def signed_post(url: str, fields: dict, headers: Dict[str, str] = None,
                      token: str = AUTH_TOKEN) -> Tuple[int, Dict[str, str]]:
    signature = RequestValidator(token).compute_signature(url, fields)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=fields, headers={
                "X-Twilio-Signature": signature, **(headers or {})}) as response:
            await response.read()
            return response.status, dict(response.headers)


async def test_one_request_id_from_webhook_to_backend_and_rasa_turn(channel_server, backend,
                                                                     log_stream):
    status, headers = await signed_post(channel_server["url"], form("mnauza nini?"),
                                        {"X-Request-ID": REQUEST_ID})
    assert status == 200 and headers["X-Request-ID"] == REQUEST_ID
    [message] = channel_server["received"]
    assert message.metadata["request_id"] == REQUEST_ID
    calls = {path: sent for path, sent in backend.calls}
    assert set(calls) == {"/internal/v1/tenants/resolve", "/internal/v1/messages/inbound",
                          "/internal/v1/messages/outbound"}
    assert {sent["X-Request-ID"] for sent in calls.values()} == {REQUEST_ID}
    outbound = calls["/internal/v1/messages/outbound"]
    assert outbound["X-TENANT-ID"] == "shop" and outbound["X-Conversation-ID"] == f"shop:{CUSTOMER_REF}"

    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    [webhook] = [line for line in lines if line["logger"] == "bot.channels.whatsapp"]
    assert webhook["message"] == "webhook answered" and webhook["status"] == 200
    assert (webhook["request_id"], webhook["tenant"]) == (REQUEST_ID, "shop")
    assert webhook["conversation"] == f"shop:{CUSTOMER_REF}"  # the opaque reference
    for line in lines:
        assert {"request_id", "tenant", "conversation", "service", "level"} <= line.keys()
    assert CUSTOMER not in log_stream.getvalue()


async def test_a_request_id_is_made_for_each_webhook_without_one(channel_server, backend):
    _, first = await signed_post(channel_server["url"], form())
    _, second = await signed_post(channel_server["url"], form(), {"X-Request-ID": "bad id!"})
    made = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(len(value) == 32 for value in made) and made[0] != made[1]
    ids = [message.metadata["request_id"] for message in channel_server["received"]]
    assert ids == made


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(url: str, token: str = None) -> Tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session:
        async with session.get(url.rsplit("/", 1)[0] + "/metrics", headers=headers) as response:
            return response.status, await response.text()


async def test_metrics_count_outcomes_and_turn_latency_behind_a_token(
        channel_server, backend, monkeypatch):
    url = channel_server["url"]
    assert (await scrape(url))[0] == 401
    assert (await scrape(url, "not-the-token"))[0] == 401
    _, before = await scrape(url, SERVICE_TOKEN)
    fields = form()
    assert (await signed_post(url, fields))[0] == 200
    assert (await signed_post(url, fields))[0] == 200  # Twilio's retry: a duplicate
    assert (await signed_post(url, form(), token="someone-elses-token"))[0] == 403
    status, after = await scrape(url, SERVICE_TOKEN)
    assert status == 200
    for outcome in ("answered", "duplicate", "forbidden"):
        name = f'whatsapp_webhooks_total{{outcome="{outcome}"}}'
        assert sample(after, name) - sample(before, name) == 1, outcome
    assert sample(after, "whatsapp_turn_seconds_count") - sample(
        before, "whatsapp_turn_seconds_count") == 1
    monkeypatch.setenv("METRICS_TOKEN", "scrape-token")
    assert (await scrape(url, "scrape-token"))[0] == 200
    monkeypatch.setenv("METRICS_PUBLIC", "1")
    assert (await scrape(url))[0] == 200
