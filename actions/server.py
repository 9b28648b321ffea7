"""The action server: rasa-sdk's app behind a shared secret, on loopback unless configured otherwise.

rasa-sdk checks no caller, and the actions act for whichever customer the request names with the
backend's service token, so anyone reaching the port could read any customer's orders. Rasa sends
`Authorization: Bearer $ACTIONS_TOKEN` (endpoints.yml); every route but /health requires it.

    python -m actions.server [--host H] [--port P] [--auto-reload]
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os
from typing import Optional, Sequence

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055


class ConfigurationError(Exception):
    """The server cannot start safely with these settings."""


def unauthorized(description: str) -> HTTPResponse:
    """401 in the project's one error shape (backend/api/common.py ErrorSchema)."""
    body = {"code": 401, "message": "Unauthorized", "description": description}
    return response.json(body, status=401, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(request: Request) -> Optional[bytes]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip().encode()


def require_token(app: Sanic, token: str) -> None:
    """Answers 401 before any route but /health runs, unless the caller sends the shared secret."""
    if not token:
        raise ConfigurationError("ACTIONS_TOKEN is empty: the action server would be open to anyone")
    expected = token.encode()

    @app.middleware("request")
    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = bearer_token(request)
        if given is None:
            return unauthorized("send Authorization: Bearer <ACTIONS_TOKEN>")
        if not hmac.compare_digest(given, expected):  # constant time: no guessing byte by byte
            return unauthorized("wrong action server token")
        return None


def build_app(token: str, auto_reload: bool = False, package: str = "actions") -> Sanic:
    """rasa-sdk's app (no CORS: no browser calls it) with the token check and its plugins."""
    app = create_app(package, cors_origins=None, auto_reload=auto_reload)
    require_token(app, token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    return app


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=env.get("ACTIONS_HOST") or DEFAULT_HOST,
                        help="interface to listen on (ACTIONS_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(env.get("ACTIONS_PORT") or DEFAULT_PORT),
                        help="port (ACTIONS_PORT, default 5055)")
    parser.add_argument("--auto-reload", action="store_true",
                        help="reload edited action modules before each call (for designers)")
    parser.add_argument("--log-level", default=env.get("LOG_LEVEL") or "INFO")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    utils.configure_colored_logging(args.log_level)
    utils.update_sanic_log_level()
    try:
        app = build_app(os.environ.get("ACTIONS_TOKEN", ""), auto_reload=args.auto_reload)
    except ConfigurationError as exc:
        raise SystemExit(f"actions.server: {exc}") from None
    logger.info("action server on http://%s:%d (token required)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
