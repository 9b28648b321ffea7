"""The tenant's bookable services (GET /v1/services) and how they are shown: menus, details,
prices and durations in the customer's language."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable, backend
from actions.conversation_owner import tenant_and_customer
from actions.menu import new_menu
from actions.money import format_money

logger = logging.getLogger(__name__)

SERVICE_MENU_SIZE = 10
FROM = {"en": "from", "sw": "kuanzia", "sheng": "kuanzia"}


async def load_services(tenant_id: str) -> List[Dict[str, Any]]:
    """The tenant's active services that have something to book."""
    answer = await backend.call("GET", tenant_id, "/v1/services", params={"page_size": 50})
    if not answer.ok:
        raise BackendUnavailable(f"services answered {answer.status}")
    return [s for s in answer.body.get("results", [])
            if s.get("active", True) and s.get("variants")]


def find(services: List[Dict[str, Any]], service_id: Any) -> Optional[Dict[str, Any]]:
    return next((s for s in services if str(s["id"]) == str(service_id)), None)


def find_variant(service: Optional[Dict[str, Any]], variant_id: Any) -> Optional[Dict[str, Any]]:
    if not service:
        return None
    return next((v for v in service["variants"] if str(v["id"]) == str(variant_id)), None)


def duration(minutes: int, lang: str) -> str:
    hours, rest = divmod(int(minutes), 60)
    if lang == "en":
        parts = ([f"{hours} h"] if hours else []) + ([f"{rest} min"] if rest else [])
    else:
        parts = ([f"saa {hours}"] if hours else []) + ([f"dakika {rest}"] if rest else [])
    return " ".join(parts)


def service_line(position: int, service: Dict[str, Any], lang: str) -> str:
    prices = [v["price_minor"] for v in service["variants"]]
    currency = service["variants"][0].get("currency", "KES")
    price = format_money(min(prices), currency)
    if max(prices) != min(prices):
        price = f"{FROM[lang]} {price}"
    return f"{position}. {service['name']} — {price}"


def service_menu(services: List[Dict[str, Any]], lang: str) -> str:
    return "\n".join(service_line(i, s, lang) for i, s in enumerate(services, start=1))


def services_menu_slot(services: List[Dict[str, Any]], purpose: str) -> SlotSet:
    return SlotSet("last_menu", {**new_menu("services", [s["id"] for s in services]),
                                 "purpose": purpose})


def variant_lines(service: Dict[str, Any], lang: str, numbered: bool = False) -> str:
    return "\n".join(
        f"{f'{i}.' if numbered else '•'} {v['name']} — "
        f"{duration(v['duration_minutes'], lang)} — "
        f"{format_money(v['price_minor'], v.get('currency', 'KES'))}"
        for i, v in enumerate(service["variants"], start=1))


def service_title(service: Dict[str, Any], variant: Optional[Dict[str, Any]]) -> str:
    if variant is None or len(service["variants"]) == 1:
        return service["name"]
    return f"{service['name']} ({variant['name']})"


def show_details(dispatcher: CollectingDispatcher, service: Dict[str, Any],
                 lang: str) -> List[EventType]:
    """Says the service's details; the service is then the selected one."""
    dispatcher.utter_message(response="utter_service_details", title=service["name"],
                             description=service.get("description") or "",
                             lines=variant_lines(service, lang))
    return [SlotSet("selected_service", str(service["id"]))]


async def services_to_offer(dispatcher: CollectingDispatcher,
                            tracker: Tracker) -> Optional[List[Dict[str, Any]]]:
    """The tenant's bookable services. When there are none to offer the customer is told why:
    None when the backend is unavailable, an empty list when there is nothing to book."""
    tenant_id, _ = tenant_and_customer(tracker)
    try:
        services = await load_services(tenant_id)
    except BackendUnavailable as exc:
        logger.error("services unavailable: %s", exc)
        dispatcher.utter_message(response="utter_backend_unavailable")
        return None
    if not services:
        dispatcher.utter_message(response="utter_no_services")
    return services


def ask_which_service(dispatcher: CollectingDispatcher, services: List[Dict[str, Any]],
                      unmatched: Optional[str], lang: str, purpose: str) -> List[EventType]:
    shown = services[:SERVICE_MENU_SIZE]
    if unmatched:
        dispatcher.utter_message(response="utter_service_not_found", text=unmatched,
                                 menu=service_menu(shown, lang))
    else:
        dispatcher.utter_message(response="utter_which_service", menu=service_menu(shown, lang))
    return [services_menu_slot(shown, purpose)]
