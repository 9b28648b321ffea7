"""Which service the customer means. The backend matches what they wrote (GET /v1/services/match:
typos, plurals, Swahili and Sheng words); these ask it and pick its answers from the services
already loaded for the menus."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker

from actions.backend import backend
from actions.bookings.services import find
from actions.common import entity
from actions.conversation_owner import tenant_and_customer
from actions.menu import live_menu, pick


async def _matched(tenant_id: str, text: Optional[str], services: List[Dict[str, Any]],
                   mode: str) -> List[Dict[str, Any]]:
    if not (text or "").strip():
        return []
    found = (find(services, m["service_id"])
             for m in await backend.match_services(tenant_id, text or "", mode))
    return [s for s in found if s is not None]


async def match_services(tenant_id: str, text: Optional[str],
                         services: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The services a name as typed points at, best first: one when clear, several when it is
    ambiguous ("braids": box or knotless), none when nothing is close. Raises
    BackendUnavailable."""
    return await _matched(tenant_id, text, services, "name")


async def services_in_text(tenant_id: str, text: Optional[str],
                           services: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The services a whole message names among other words ("nataka kunyoa kesho"). Raises
    BackendUnavailable."""
    return await _matched(tenant_id, text, services, "message")


async def variant_named(tenant_id: str, service: Dict[str, Any],
                        text: Optional[str]) -> Optional[Dict[str, Any]]:
    """The only variant, or the one whose name the text contains ("waist length", "gel").
    Raises BackendUnavailable."""
    variants = service.get("variants", [])
    if len(variants) == 1:
        return variants[0]
    if not (text or "").strip():
        return None
    rated = await backend.match_services(tenant_id, text or "", service_id=service["id"])
    named = rated[0].get("variant_id") if rated else None
    return next((v for v in variants if str(v["id"]) == str(named)), None)


async def resolve_service(tracker: Tracker, services: List[Dict[str, Any]], use_slot: bool = True
                          ) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """(matching services, the unmatched name) for the service the customer means: the `service`
    entity, else a pick from a live services menu, else service words in the message, else the
    selected_service slot. Raises BackendUnavailable."""
    tenant_id, _ = tenant_and_customer(tracker)
    # Every name the extractor tagged, in order: a word tagged by mistake ("nataka [kuweka]
    # miadi ya [knotless braids]") must not hide the service named after it.
    names = [str(v).strip() for v in tracker.get_latest_entity_values("service")
             if v not in (None, "") and str(v).strip()]
    named = names[0] if names else None
    for name in names:
        found = await match_services(tenant_id, name, services)
        if found:
            return found, None
    menu = live_menu(tracker.get_slot("last_menu"))
    option = entity(tracker, "option")
    if menu and menu.get("kind") == "services" and option:
        picked = find(services, pick(menu, option))
        if picked:
            return [picked], None
    # The extractor may miss a service word ("mko free kesho kwa kusuka?") or tag another word.
    found = await services_in_text(tenant_id, tracker.latest_message.get("text", ""), services)
    if found:
        return found, None
    if use_slot:
        chosen = find(services, tracker.get_slot("selected_service"))
        if chosen:
            return [chosen], None
    return [], named
