"""Serving a fake backend on loopback for the action tests, and a client pointed at it."""
from __future__ import annotations

import socket
from typing import Tuple

from aiohttp import web

from actions.backend import Backend

SERVICE_TOKEN = "test-service-token"


async def serve(app: web.Application) -> Tuple[web.AppRunner, Backend]:
    """Serves `app` on 127.0.0.1 on a free port; the runner and a Backend client for it.
    Undo with `stop`."""
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, Backend(f"http://127.0.0.1:{port}", SERVICE_TOKEN, timeout_seconds=2)


async def stop(runner: web.AppRunner, client: Backend) -> None:
    """Closes the client's session and stops the server `serve` started."""
    await client.close()
    await runner.cleanup()
