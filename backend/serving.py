"""What gunicorn does on the backend's behalf, held to the backend's rules (loaded by
backend/gunicorn_conf.py, so by every `gunicorn -c python:backend.gunicorn_conf`):

- access and error logs never show a payment callback token or a credential header
  (RedactingLogger, gunicorn's `logger_class`);
- the answers gunicorn writes itself, before the app sees a request (414 URI too long, 431
  headers too large, 400 malformed request), are JSON in the one error shape, not HTML;
- no `Server: gunicorn` header.

gunicorn has no setting for the last two, so `harden_gunicorn` replaces the two small functions
that write them; tests/backend/test_serving.py runs a real gunicorn to hold them to it.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from gunicorn import glogging, util
from gunicorn.http import wsgi

from backend.log_redaction import REDACTED, REDACTING_FILTER, SECRET_HEADERS, redact

_REDACTED_ATOMS = ("r", "U", "q", "f")


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with callback tokens and credential headers taken out of every line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            if REDACTING_FILTER not in logger.filters:
                logger.addFilter(REDACTING_FILTER)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
              ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in _REDACTED_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        for header in SECRET_HEADERS:
            if "{%s}i" % header in atoms:
                atoms["{%s}i" % header] = REDACTED
        return atoms


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's util.write_error, answering in the backend's error shape."""
    try:
        phrase = HTTPStatus(status_int).phrase
    except ValueError:
        phrase = reason
    body = json.dumps({"code": status_int, "message": phrase,
                       "description": redact(mesg) or phrase}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            "Cache-Control: no-store\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


_gunicorn_default_headers = wsgi.Response.default_headers


def _headers_without_server(self: wsgi.Response) -> list[str]:
    return [line for line in _gunicorn_default_headers(self) if not line.startswith("Server:")]


def harden_gunicorn() -> None:
    """Install the JSON error writer and drop the Server header (idempotent)."""
    util.write_error = write_json_error
    wsgi.Response.default_headers = _headers_without_server  # type: ignore[method-assign]
