"""The `last_menu` slot: what a numbered menu listed, in order, and until when a pick is valid."""
from __future__ import annotations

import os
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher


def menu_ttl_seconds() -> int:
    return int(os.environ.get("MENU_TTL_SECONDS", "900"))


def new_menu(kind: str, ids: List[int], now: Optional[float] = None) -> Dict[str, Any]:
    now = time.time() if now is None else now
    return {"kind": kind, "ids": list(ids), "expires_at": int(now) + menu_ttl_seconds()}


def live_menu(value: Any, now: Optional[float] = None) -> Optional[Dict[str, Any]]:
    """The menu when it is still valid, else None (missing, malformed or expired)."""
    now = time.time() if now is None else now
    if not isinstance(value, dict) or not isinstance(value.get("ids"), list):
        return None
    if not value["ids"] or float(value.get("expires_at") or 0) <= now:
        return None
    return value


def pick(menu: Dict[str, Any], option: str) -> Optional[int]:
    """The id at menu position `option` ("1".."n" or "last"), or None when out of range."""
    ids = menu["ids"]
    if option == "last":
        return ids[-1]
    try:
        position = int(option)
    except (TypeError, ValueError):
        return None
    return ids[position - 1] if 1 <= position <= len(ids) else None


# What picking from a menu does, by menu kind: each flow registers its handler with `on_select`.
# A handler gets the picked id and answers like an action's run() (events).
SelectHandler = Callable[[CollectingDispatcher, Tracker, Dict[str, Any], int],
                         Awaitable[List[EventType]]]
_SELECT_HANDLERS: Dict[str, SelectHandler] = {}


def on_select(kind: str) -> Callable[[SelectHandler], SelectHandler]:
    def register(handler: SelectHandler) -> SelectHandler:
        _SELECT_HANDLERS[kind] = handler
        return handler
    return register


def select_handler(kind: str) -> Optional[SelectHandler]:
    return _SELECT_HANDLERS.get(kind)
