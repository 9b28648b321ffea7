"""The assistant's HTTP clients drop idle connections before the backend's keep-alive ends them,
so no request is written to a connection the server is closing ("Can not write request body")."""
from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from actions import backend as actions_backend
from bot.analytics import ClassificationBroker
from bot.channels import backend as channel_backend
from kit.backend_http import IDLE_CONNECTION_SECONDS, BackendSession

ROOT = Path(__file__).resolve().parents[2]


def gunicorn_keepalive() -> float:
    """`keepalive = N` of backend/gunicorn_conf.py, read without importing it (it imports the
    backend's gunicorn hooks, which live in the other Python environment)."""
    tree = ast.parse((ROOT / "backend" / "gunicorn_conf.py").read_text())
    [value] = [node.value for node in tree.body if isinstance(node, ast.Assign)
               and [getattr(t, "id", None) for t in node.targets] == ["keepalive"]]
    return float(ast.literal_eval(value))


def test_clients_give_up_idle_connections_before_the_backend_does():
    keepalive = gunicorn_keepalive()
    assert IDLE_CONNECTION_SECONDS < keepalive


async def connections_used(session_factory, pause: float) -> int:
    """Distinct client ports the server saw for two requests `pause` seconds apart."""
    ports = set()

    async def hello(request: web.Request) -> web.Response:
        ports.add(request.transport.get_extra_info("peername")[1])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    session = session_factory()
    try:
        for _ in range(2):
            async with session.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.status == 200
            await asyncio.sleep(pause)
    finally:
        await session.close()
        await runner.cleanup()
    return len(ports)


@pytest.mark.asyncio
async def test_an_idle_connection_is_not_reused_after_the_idle_limit():
    ours = lambda: BackendSession("x", 5).session()  # noqa: E731
    assert await connections_used(ours, 0.0) == 1  # back to back: one pooled connection
    assert await connections_used(ours, IDLE_CONNECTION_SECONDS + 0.5) == 2
    # aiohttp's own default would have kept the idle connection and reused it.
    assert await connections_used(lambda: aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(5)),
                                  IDLE_CONNECTION_SECONDS + 0.5) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("client", [
    lambda: actions_backend.Backend(base_url="http://127.0.0.1:9", service_token="x"),
    lambda: channel_backend.BackendClient("http://127.0.0.1:9", "x"),
    lambda: ClassificationBroker("http://127.0.0.1:9", "x"),
], ids=["action server", "channel", "analytics"])
async def test_every_backend_client_drops_idle_connections(client):
    http = client().http
    try:
        assert http.session().connector._keepalive_timeout == IDLE_CONNECTION_SECONDS
        assert http.session().headers["Authorization"] == "Bearer x"
    finally:
        await http.close()


async def dropping_backend(drops: int):
    """A backend that closes the connection without answering the first `drops` requests (as a
    server does when it ends a keep-alive connection while a request is written), then answers
    202. Returns (runner, base url, the count of requests it saw)."""
    seen = {"requests": 0}

    async def outbound(request: web.Request) -> web.StreamResponse:
        seen["requests"] += 1
        await request.read()
        if seen["requests"] <= drops:
            request.transport.close()
            return web.Response(status=500)  # never reaches the client: the transport is gone
        return web.json_response({"ids": [7]}, status=202)

    app = web.Application()
    app.router.add_post("/internal/v1/messages/outbound", outbound)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", seen


@pytest.mark.asyncio
async def test_a_dropped_connection_is_tried_once_more():
    runner, url, seen = await dropping_backend(drops=1)
    client = channel_backend.BackendClient(url, "x")
    try:
        ids = await client.send_outbound("t1", "+254712345678", [{"text": "hi"}], "SM1")
    finally:
        await client.close()
        await runner.cleanup()
    assert ids == [7]
    assert seen["requests"] == 2


@pytest.mark.asyncio
async def test_a_connection_dropped_twice_is_a_backend_error_not_a_third_try():
    runner, url, seen = await dropping_backend(drops=5)
    client = channel_backend.BackendClient(url, "x")
    try:
        with pytest.raises(channel_backend.BackendError):
            await client.send_outbound("t1", "+254712345678", [{"text": "hi"}], "SM1")
    finally:
        await client.close()
        await runner.cleanup()
    assert seen["requests"] == 2
