"""The Rasa side's pooled HTTP session to the backend: the channel, its analytics broker and the
action server each hold one (and keep their own calls). Rasa side only: it needs aiohttp.

Idle pooled connections are closed after IDLE_CONNECTION_SECONDS: below the backend's keep-alive
(gunicorn's `keepalive`, 5 s in backend/gunicorn_conf.py), so a request is never written to a
connection the server is closing at that moment ("Can not write request body").
"""
from __future__ import annotations

from typing import Optional

import aiohttp

IDLE_CONNECTION_SECONDS = 1.0


class BackendSession:
    """The service token, a total timeout and the keep-alive rule, on one lazily made session."""

    def __init__(self, service_token: str, timeout_seconds: float) -> None:
        self.headers = {"Authorization": f"Bearer {service_token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    def session(self) -> aiohttp.ClientSession:
        """The pool, created inside the running event loop on first use (never at import time)
        and again after it was closed."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self.headers, timeout=self.timeout,
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
