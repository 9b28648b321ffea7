"""A stand-in for the Rasa HTTP API on loopback that records every request it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.backend.conftest import free_port


@dataclass(frozen=True)
class Recorded:
    method: str
    raw_path: str  # as sent on the wire, before any percent-decoding
    query: dict[str, list[str]]
    body: Any


class FakeRasa:
    """Answers each request with the next queued (status, body), else 200 and `default`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: list[tuple[int, Any]] = []
        self.default: Any = {"events": []}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
        body = request.get_data(as_text=True)
        self.requests.append(Recorded(
            method=request.method,
            raw_path=raw.split("?", 1)[0],
            query=parse_qs(environ.get("QUERY_STRING", "")),
            body=json.loads(body) if body else None,
        ))
        status, payload = self.replies.pop(0) if self.replies else (200, self.default)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        response = Response(text, status=status, content_type="application/json")
        return response(environ, start_response)

    def start(self) -> FakeRasa:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
