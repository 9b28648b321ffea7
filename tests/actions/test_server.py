"""The action server entry (actions/server.py): rasa-sdk's routes behind rasa's shared secret.

Issue 13 item 1: `POST /webhook` with next_action=action_order_status and any sender id returned
that customer's orders to anyone who could reach the port.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Dict

import aiohttp
import pytest
import pytest_asyncio
from rasa.utils.endpoints import read_endpoint_config
from sanic import Sanic

from actions import server

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-actions-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def order_status_call(sender: str = "shop:+254712345678") -> Dict[str, Any]:
    """What rasa posts to run action_order_status for `sender` (trimmed to what the SDK reads)."""
    return {
        "next_action": "action_order_status", "sender_id": sender, "version": "3.6.21",
        "domain": {"responses": {}, "slots": {}},
        "tracker": {"sender_id": sender, "slots": {"language": "en"}, "events": [],
                    "latest_message": {"text": "my orders", "intent": {"name": "check_order_status"},
                                       "entities": []},
                    "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": "action_listen"},
    }


@pytest_asyncio.fixture
async def action_server(shop):
    """The real app from build_app on a loopback port; its actions reach the fake shop."""
    Sanic.test_mode = True  # several apps named rasa_sdk in one process
    app = server.build_app(TOKEN)
    port = free_port()
    srv = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                  access_log=False)
    await srv.startup()
    yield f"http://127.0.0.1:{port}"
    srv.close()
    await srv.wait_closed()


async def post(url: str, body: Dict[str, Any], headers: Dict[str, str]) -> tuple:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None), dict(r.headers)


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer "},
], ids=["none", "wrong", "longer", "other-scheme", "empty"])
async def test_a_caller_without_the_token_gets_401_and_no_action_runs(action_server, shop, headers):
    status, body, response_headers = await post(
        f"{action_server}/webhook", order_status_call(), headers)
    assert status == 401
    assert body["code"] == 401 and body["message"] == "Unauthorized" and body["description"]
    assert response_headers.get("WWW-Authenticate") == "Bearer"
    assert "events" not in body and "responses" not in body
    assert shop.requests == []  # the backend was never asked for the customer's orders


@pytest.mark.asyncio
async def test_the_action_list_needs_the_token_too_but_health_is_open(action_server):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{action_server}/actions") as r:
            assert r.status == 401
        async with session.get(f"{action_server}/health") as r:
            assert r.status == 200


@pytest.mark.asyncio
async def test_rasa_sends_the_token_from_endpoints_yml_and_the_action_runs(
        action_server, shop, monkeypatch):
    """The endpoint rasa builds from endpoints.yml (and the production file) is let in."""
    monkeypatch.setenv("ACTION_SERVER_URL", f"{action_server}/webhook")
    monkeypatch.setenv("ACTIONS_TOKEN", TOKEN)
    monkeypatch.setenv("RASA_TRACKER_DB", "unused.db")
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:1")
    for name in ("TRACKER_DB_HOST", "TRACKER_DB_PORT", "TRACKER_DB_NAME", "TRACKER_DB_USER",
                 "TRACKER_DB_PASSWORD", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.setenv(name, "x")
    for endpoints in ("endpoints.yml", "endpoints.production.yml"):
        endpoint = read_endpoint_config(str(ROOT / endpoints), "action_endpoint")
        assert endpoint is not None
        result = await endpoint.request(json=order_status_call(), method="post")
        assert result["responses"], endpoints  # the action ran: it asked the shop and answered
    assert any(r["path"].endswith("/orders") for r in shop.requests)


def test_no_token_refuses_to_start(monkeypatch):
    Sanic.test_mode = True
    with pytest.raises(server.ConfigurationError):
        server.build_app("")
    monkeypatch.setenv("ACTIONS_TOKEN", "")
    monkeypatch.setattr(Sanic, "run", lambda *a, **k: pytest.fail("started without a token"))
    with pytest.raises(SystemExit, match="ACTIONS_TOKEN"):
        server.main([])


def test_it_listens_on_loopback_unless_configured(monkeypatch):
    monkeypatch.delenv("ACTIONS_HOST", raising=False)
    monkeypatch.delenv("ACTIONS_PORT", raising=False)
    args = server.parse_args([])
    assert (args.host, args.port, args.auto_reload) == ("127.0.0.1", 5055, False)
    monkeypatch.setenv("ACTIONS_HOST", "0.0.0.0")
    monkeypatch.setenv("ACTIONS_PORT", "6055")
    assert (server.parse_args([]).host, server.parse_args([]).port) == ("0.0.0.0", 6055)

