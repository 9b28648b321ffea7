"""The action server's logs and error reports: a rasa-sdk plugin (see rasa_sdk_plugins/) that
turns on JSON lines and Sentry, and gives every action call the request context of the turn
that asked for it: request_id from the message metadata the channel set, tenant, conversation."""
from __future__ import annotations

import json
import logging
import time
import zlib
from typing import Any, Dict, Optional

import pluggy
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from observability import logs
from kit.sender import split_sender
from observability.errors import init_sentry

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")


def call_context(action_call: Optional[Dict[str, Any]], header_id: Optional[str]) -> Dict[str, str]:
    """request_id, tenant and conversation of an action call (a new request id when none came)."""
    tracker = (action_call or {}).get("tracker") or {}
    slots = tracker.get("slots") or {}
    # A session's first turn runs action_session_start before the message: its metadata is here.
    metadata = ((tracker.get("latest_message") or {}).get("metadata")
                or slots.get("session_started_metadata") or {})
    sender = tracker.get("sender_id") or None
    return {
        "request_id": logs.accept_request_id(metadata.get("request_id") or header_id),
        "tenant": metadata.get("tenant_id") or slots.get("tenant_id")
        or (split_sender(sender)[0] if sender else None),
        "conversation": sender,
    }


def _action_call(request: Request) -> Optional[Dict[str, Any]]:
    """The posted action call, read as rasa-sdk reads it (maybe deflated); None if unreadable."""
    if request.method != "POST" or request.path != "/webhook":
        return None
    try:
        body = request.body
        if request.headers.get("Content-Encoding") == "deflate":
            body = zlib.decompress(body)
        call = json.loads(body)
    except (ValueError, zlib.error):
        return None
    return call if isinstance(call, dict) else None


async def _bind(request: Request) -> None:
    logs.clear()
    request.ctx.started = time.perf_counter()
    request.ctx.action_call = _action_call(request)
    logs.bind(**call_context(request.ctx.action_call, request.headers.get(logs.REQUEST_ID_HEADER)))


async def _log(request: Request, response: HTTPResponse) -> None:
    call = getattr(request.ctx, "action_call", None)
    if call is not None:
        logger.info("action %s answered %s", call.get("next_action"), response.status, extra={
            "action": call.get("next_action"), "status": response.status,
            "duration_ms": round((time.perf_counter() - request.ctx.started) * 1000)})
    logs.clear()


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    logs.configure("actions")
    init_sentry("actions")
    app.register_middleware(_bind, "request")
    app.register_middleware(_log, "response")
