"""Free slots of a service variant (GET /v1/services/<id>/slots, in the tenant's local time) and
the numbered menus that offer them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.backend import BackendUnavailable, backend
from actions.dates import TimeSpan, format_moment, parse_iso
from actions.menu import new_menu
from kit.clock import zone

SLOT_MENU_SIZE = 8
# How far past the asked days to look for the next free times.
LOOKAHEAD_DAYS = 14


async def free_slots(tenant_id: str, service_id: Any, variant_id: Any, first: date, last: date,
                     tz_name: str) -> List[datetime]:
    """Free slot starts (local, naive) of a service variant between two local dates."""
    answer = await backend.call(
        "GET", tenant_id, f"/v1/services/{service_id}/slots",
        params={"from": first.isoformat(), "to": last.isoformat(), "variant_id": variant_id})
    if answer.status == 404:
        return []
    if not answer.ok:
        raise BackendUnavailable(f"slots answered {answer.status}: {answer.description}")
    tz = zone(tz_name)
    starts = {parse_iso(s["starts_at"]).astimezone(tz).replace(tzinfo=None)
              for s in answer.body.get("results", []) if s.get("remaining", 1) > 0}
    return sorted(starts)


def slot_id(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def slot_menu(moments: List[datetime], lang: str) -> str:
    return "\n".join(f"{i}. {format_moment(m, lang)}" for i, m in enumerate(moments, start=1))


def slots_menu_slot(moments: List[datetime], service_id: Any, variant_id: Any) -> SlotSet:
    return SlotSet("last_menu", {**new_menu("slots", [slot_id(m) for m in moments]),
                                 "service_id": str(service_id), "variant_id": str(variant_id)})


def nearest(moments: List[datetime], around: datetime, count: int) -> List[datetime]:
    """The `count` moments nearest `around`, in time order."""
    return sorted(sorted(moments, key=lambda m: abs((m - around).total_seconds()))[:count])


def within(moments: List[datetime], times: Optional[TimeSpan]) -> List[datetime]:
    if times is None:
        return moments
    return [m for m in moments if times.contains(m.time())]


def menu_shown_this_turn(tracker: Tracker, kind: str) -> bool:
    """Whether this turn already showed a menu of `kind` (so an ask need not show another)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == "last_menu":
            value = event.get("value")
            return isinstance(value, dict) and value.get("kind") == kind
    return False
