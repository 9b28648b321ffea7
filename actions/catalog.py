"""Browsing the catalog: a numbered product menu, and a pick from it."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.amounts import parse_amount
from actions.backend import BackendUnavailable, NotFound, backend
from actions.context import tenant_and_phone
from actions.labels import filter_label
from actions.menu import live_menu, new_menu, pick
from actions.money import price_range

logger = logging.getLogger(__name__)

# WhatsApp list pickers hold at most ten rows; text menus follow the same limit.
MENU_SIZE = 10
CATEGORIES = {"shoes", "clothing", "accessories"}


def menu_line(position: int, product: Dict[str, Any]) -> str:
    price = price_range(product["price_min_minor"], product["price_max_minor"], product["currency"])
    return f"{position}. {product['title']} — {price}"


def variant_summary(product: Dict[str, Any]) -> str:
    """"40, 41, 42 (black)" style list of what is in stock."""
    labels = []
    for variant in product["variants"]:
        if variant["stock"] <= 0:
            continue
        attrs = variant.get("attributes") or {}
        label = " ".join(str(attrs[k]) for k in ("size", "colour", "color") if attrs.get(k))
        labels.append(label or variant["sku"])
    return ", ".join(dict.fromkeys(labels))


class ActionShowProducts(Action):
    def name(self) -> Text:
        return "action_show_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_phone(tracker)
        wanted = next(tracker.get_latest_entity_values("category"), None)
        category = wanted.lower() if wanted and wanted.lower() in CATEGORIES else None
        query = None if category or not wanted else wanted
        max_price = parse_amount(next(tracker.get_latest_entity_values("budget"), None))
        filtered = bool(wanted or max_price)
        try:
            products = await self._page(tenant_id, category, query, max_price)
            response = "utter_product_menu_filtered" if filtered else "utter_product_menu"
            if filtered and not products:
                products = await self._page(tenant_id, None, None, None)
                response = "utter_product_menu_no_match"
        except BackendUnavailable as exc:
            logger.error("catalog unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if not products:
            dispatcher.utter_message(response="utter_no_products")
            return [SlotSet("last_menu", None)]
        menu = "\n".join(menu_line(i, p) for i, p in enumerate(products, start=1))
        label = filter_label(tracker.get_slot("language"), category, query, max_price)
        dispatcher.utter_message(response=response, menu=menu, filter=label)
        return [SlotSet("last_menu", new_menu("products", [p["id"] for p in products]))]

    @staticmethod
    async def _page(tenant_id: str, category: Optional[str], query: Optional[str],
                    max_price: Optional[int]) -> List[Dict[str, Any]]:
        page = await backend.products(tenant_id, q=query, category=category, max_price=max_price,
                                      page_size=MENU_SIZE)
        return page["results"]


class ActionSelectOption(Action):
    def name(self) -> Text:
        return "action_select_option"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        menu = live_menu(tracker.get_slot("last_menu"))
        option = next(tracker.get_latest_entity_values("option"), None)
        if menu is None:
            dispatcher.utter_message(response="utter_menu_expired")
            return [SlotSet("last_menu", None)]
        product_id = pick(menu, option) if option else None
        if product_id is None:
            dispatcher.utter_message(response="utter_option_out_of_range", count=len(menu["ids"]))
            return []
        tenant_id, _ = tenant_and_phone(tracker)
        try:
            product = await backend.product(tenant_id, product_id)
        except NotFound:
            dispatcher.utter_message(response="utter_menu_expired")
            return [SlotSet("last_menu", None)]
        except BackendUnavailable as exc:
            logger.error("catalog unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        options = variant_summary(product)
        if not options:
            dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
        else:
            dispatcher.utter_message(
                response="utter_product_details", title=product["title"],
                description=product.get("description") or "", options=options,
                price=price_range(product["price_min_minor"], product["price_max_minor"],
                                  product["currency"]))
        return [SlotSet("selected_product", str(product["id"]))]
