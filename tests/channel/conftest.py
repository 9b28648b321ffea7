"""A fake backend (the internal API on loopback) and the WhatsApp channel served by a real Sanic."""
from __future__ import annotations

import socket
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import pytest_asyncio
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.whatsapp import WhatsAppInput
from tests.contract.contract import OFF_CONTRACT, assert_conform, watch

TENANT_NUMBER = "whatsapp:+254700000001"
AUTH_TOKEN = "test-auth-token"
SERVICE_TOKEN = "test-service-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CUSTOMER_REF = "c0123456789abcdef01234567"


class FakeBackend:
    """Implements the three internal endpoints the channel uses and records what it was sent."""

    def __init__(self) -> None:
        self.inbound: List[Dict[str, Any]] = []
        self.outbound: List[Dict[str, Any]] = []
        self.resolve_calls = 0
        self.resolved: List[str] = []
        # Numbers of other tenants (business numbers the channel must not answer).
        self.other_tenant_numbers: List[str] = []
        self.fail_outbound = False
        self.tenant_extra: Dict[str, Any] = {}
        self.customer_ref: Any = CUSTOMER_REF

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/internal/v1/tenants/resolve", self.resolve)
        app.router.add_post("/internal/v1/messages/inbound", self.log_inbound)
        app.router.add_post("/internal/v1/messages/outbound", self.send_outbound)
        return app

    @staticmethod
    def _authorised(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {SERVICE_TOKEN}"

    async def resolve(self, request: web.Request) -> web.Response:
        self.resolve_calls += 1
        self.resolved.append(request.query.get("number", ""))
        if not self._authorised(request):
            return web.json_response({"code": 401}, status=401)
        if request.query.get("number") in self.other_tenant_numbers:
            return web.json_response({
                "tenant_id": "other", "name": "Other", "whatsapp_number": "+254700000002",
                "twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "other-token",
                "sandbox": True, "primary_language": "en"})
        number = request.query.get("number", "")
        if number.removeprefix("whatsapp:") != TENANT_NUMBER.removeprefix("whatsapp:"):
            return web.json_response({"code": 404}, status=404)
        return web.json_response({
            "tenant_id": "shop", "name": "Shop", "whatsapp_number": "+254700000001",
            "twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": AUTH_TOKEN,
            "sandbox": True, "primary_language": "sw", **self.tenant_extra})

    async def log_inbound(self, request: web.Request) -> web.Response:
        self.inbound.append(await request.json())
        # Like the backend: the customer's opaque reference (Rasa's sender id part).
        return web.json_response({"customer_id": 1, "duplicate": False,
                                  "customer_ref": self.customer_ref}, status=201,
                                 headers={} if isinstance(self.customer_ref, str)
                                 else {OFF_CONTRACT: "no customer reference"})

    async def send_outbound(self, request: web.Request) -> web.Response:
        if self.fail_outbound:
            return web.json_response({"code": 500}, status=500)
        body = await request.json()
        self.outbound.append(body)
        return web.json_response({"ids": list(range(1, len(body["messages"]) + 1))}, status=202)


@pytest_asyncio.fixture
async def backend():
    """The fake on loopback; what the channel sent and it answered must keep to the contract."""
    fake = FakeBackend()
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


class Bot:
    """Stands in for Rasa's agent: records each UserMessage and runs `behaviour` (echo by default)."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []
        self.behaviour: Callable[[UserMessage], Awaitable[None]] = self.echo

    @staticmethod
    async def echo(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await self.behaviour(message)


async def serve_channel(channel: WhatsAppInput, bot: Bot) -> Tuple[Any, Sanic, int]:
    Sanic.test_mode = True
    app = Sanic(f"channel_test_{uuid.uuid4().hex}")
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/whatsapp")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    return server, app, port


@pytest_asyncio.fixture
async def channel_server(backend, request):
    """Serves the channel like `rasa run` does; the bot echoes and records each UserMessage.

    Parametrise (indirect) with a Redis URL, or with a dict of WhatsAppInput keyword arguments."""
    param = getattr(request, "param", None)
    kwargs: Dict[str, Any] = param if isinstance(param, dict) else {"redis_url": param}
    bot = Bot()
    channel = WhatsAppInput(backend.url, SERVICE_TOKEN, **kwargs)
    server, app, port = await serve_channel(channel, bot)
    yield {"url": f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook", "received": bot.received,
           "channel": channel, "bot": bot, "app": app}
    for task in list(channel._late):
        await task
    await channel.backend.close()
    await channel.dedupe.close()
    server.close()
    await server.wait_closed()
