"""The action server's operability: through rasa-sdk's plugin hook (rasa_sdk_plugins), every action
call runs under the request id the channel put in the turn's metadata, with tenant and
conversation; its JSON lines carry them and the backend calls send them on."""
from __future__ import annotations

import io
import json
import logging
import socket
from typing import Any, Dict, List

import aiohttp
import pytest
from aiohttp import web
from rasa_sdk import Action
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic

from actions.backend import Backend
from actions.observability import call_context
from observability import logs
from observability.logs import json_formatter
from tests.actions.loopback import serve, stop
from tests.contract.contract import assert_conform, watch

REQUEST_ID = "RQ-0a1b2c3d4e5f60718293"
SENDER = "shop:c0123456789abcdef01234567"  # <tenant>:<opaque customer reference>
PROBE: Dict[str, Backend] = {}


class ActionObservabilityProbe(Action):
    """Logs a line and calls the backend, as every shop action does."""

    def name(self) -> str:
        return "action_observability_probe"

    async def run(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        logging.getLogger("actions.probe").info("probing the backend")
        await PROBE["backend"].call("GET", "shop", "/v1/carts/current",
                                    customer="c0123456789abcdef01234567")
        return []


def action_call(metadata: Dict[str, Any]) -> Dict[str, Any]:
    return {"next_action": "action_observability_probe", "sender_id": SENDER, "version": "3.6.21",
            "domain": {}, "tracker": {
                "sender_id": SENDER, "slots": {"tenant_id": "shop"}, "events": [],
                "latest_message": {"text": "hi", "intent": {}, "entities": [],
                                   "metadata": metadata},
                "paused": False, "followup_action": None, "active_loop": {},
                "latest_action_name": None}}


def test_call_context_takes_the_channel_request_id_else_makes_one() -> None:
    context = call_context(action_call({"request_id": REQUEST_ID, "tenant_id": "shop"}), None)
    assert context == {"request_id": REQUEST_ID, "tenant": "shop", "conversation": SENDER}
    made = call_context(action_call({}), None)["request_id"]
    assert len(made) == 32 and made != call_context(action_call({}), None)["request_id"]
    assert call_context(None, "from-the-header-1")["request_id"] == "from-the-header-1"
    session_start = action_call({})
    session_start["tracker"]["slots"]["session_started_metadata"] = {"request_id": REQUEST_ID}
    assert call_context(session_start, None)["request_id"] == REQUEST_ID


@pytest.mark.asyncio
async def test_an_action_call_logs_and_calls_the_backend_with_the_turn_request_id() -> None:
    seen: List[Dict[str, str]] = []

    async def cart(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"id": 1, "customer_id": 1, "currency": "KES", "items": [],
                                  "total_minor": 0})

    fake = web.Application()
    fake.router.add_get("/v1/carts/current", cart)
    exchanges = watch(fake)
    runner, PROBE["backend"] = await serve(fake)
    handlers_before = list(logging.getLogger().handlers)
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(json_formatter("actions"))
    Sanic.test_mode = True
    app = create_app(__name__)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)  # as `rasa run actions` does
    logging.getLogger().addHandler(capture)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/webhook"
            async with session.post(url, json=action_call({"request_id": REQUEST_ID})) as answer:
                assert answer.status == 200, await answer.text()
    finally:
        server.close()
        await server.wait_closed()
        await stop(runner, PROBE["backend"])
        for handler in logging.getLogger().handlers:
            if handler not in handlers_before:
                logging.getLogger().removeHandler(handler)
    assert_conform(exchanges)
    [headers] = seen
    assert headers["X-Request-ID"] == REQUEST_ID and headers["X-Conversation-ID"] == SENDER
    assert headers["X-TENANT-ID"] == "shop"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    probe = [line for line in lines if line["message"] == "probing the backend"]
    answered = [line for line in lines if line["logger"] == "actions.observability"]
    for line in probe + answered:
        assert (line["request_id"], line["tenant"]) == (REQUEST_ID, "shop")
        assert line["conversation"] == SENDER
    assert len(probe) == 1 and answered[0]["action"] == "action_observability_probe"
    assert "+254712345678" not in stream.getvalue()
    assert logs.current() == {"request_id": None, "tenant": None, "conversation": None}
