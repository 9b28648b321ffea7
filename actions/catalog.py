"""Browsing the catalog: numbered product menus, a product's details and price, picks from menus."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.amounts import parse_amount
from actions.backend import BackendUnavailable, NotFound, backend
from actions.common import entity
from actions.conversation_owner import tenant_and_customer
from actions.menu import live_menu, new_menu, on_select, pick, select_handler
from actions.money import format_money, price_range
from kit import texts

logger = logging.getLogger(__name__)

# WhatsApp list pickers hold at most ten rows; text menus follow the same limit.
MENU_SIZE = 10
# A fuzzy match below this score is not taken as the product the customer named.
MATCH_THRESHOLD = 0.45


def filter_label(language: Optional[str], category: Optional[str], query: Optional[str],
                 max_price: Optional[int]) -> str:
    """"shoes under KES 2,000" / "viatu chini ya KES 2,000" for the menu heading."""
    what = texts.word("catalog.category", category or "", language) or category or query or ""
    if max_price is None:
        return what
    return f"{what} {texts.text('catalog.under', language)} {format_money(max_price)}".strip()


def menu_line(position: int, product: Dict[str, Any]) -> str:
    price = price_range(product["price_min_minor"], product["price_max_minor"], product["currency"])
    return f"{position}. {product['title']} — {price}"


def variant_label(variant: Dict[str, Any]) -> str:
    attrs = variant.get("attributes") or {}
    label = " ".join(str(attrs[k]) for k in ("size", "colour", "color") if attrs.get(k))
    return label or variant["sku"]


def in_stock_variants(product: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [v for v in product["variants"] if v["stock"] > 0]


def variant_summary(product: Dict[str, Any]) -> str:
    """"40, 41, 42 (black)" style list of what is in stock."""
    return ", ".join(dict.fromkeys(variant_label(v) for v in in_stock_variants(product)))


def product_price(product: Dict[str, Any]) -> str:
    return price_range(product["price_min_minor"], product["price_max_minor"], product["currency"])


async def resolve_product(tracker: Tracker, use_slot: bool = True
                          ) -> Tuple[Optional[int], Optional[int], Optional[str]]:
    """(product id, variant id, unmatched text) for the product the customer means.

    The `product` entity is matched fuzzily by the backend; else a pick from a live product menu;
    else the product last looked at (when use_slot).
    """
    tenant_id, _ = tenant_and_customer(tracker)
    named = entity(tracker, "product")
    if named:
        answer = await backend.call("GET", tenant_id, "/v1/products/match",
                                    params={"text": named, "limit": 1})
        results = answer.body.get("results", []) if answer.ok else []
        if results and results[0]["score"] >= MATCH_THRESHOLD:
            return results[0]["product_id"], results[0].get("variant_id"), None
    menu = live_menu(tracker.get_slot("last_menu"))
    option = entity(tracker, "option")
    if menu and menu.get("kind") == "products" and option:
        product_id = pick(menu, option)
        if product_id is not None:
            return int(product_id), None, None
    if use_slot and tracker.get_slot("selected_product") not in (None, "cart"):
        try:
            return int(tracker.get_slot("selected_product")), None, None
        except (TypeError, ValueError):
            pass
    return None, None, named


def show_product(dispatcher: CollectingDispatcher, product: Dict[str, Any]) -> None:
    options = variant_summary(product)
    if not options:
        dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
        return
    dispatcher.utter_message(
        response="utter_product_details", title=product["title"],
        description=product.get("description") or "", options=options,
        price=product_price(product), image=product_photo(product))


def product_photo(product: Dict[str, Any]) -> Optional[str]:
    """The product's first photo that WhatsApp can fetch (an http(s) URL), if it has one."""
    for url in product.get("images") or []:
        if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
            return url
    return None


class ActionShowProducts(Action):
    def name(self) -> Text:
        return "action_show_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        wanted = entity(tracker, "category")
        named = entity(tracker, "product")
        max_price = parse_amount(entity(tracker, "budget"))
        category = wanted.lower() if wanted else None
        try:
            products, label_category, query = await self._search(tenant_id, category, named, max_price)
            filtered = bool(category or named or max_price)
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
        label = filter_label(tracker.get_slot("language"), label_category, query, max_price)
        dispatcher.utter_message(response=response, menu=menu, filter=label)
        return [SlotSet("last_menu", new_menu("products", [p["id"] for p in products]))]

    async def _search(self, tenant_id: str, category: Optional[str], named: Optional[str],
                      max_price: Optional[int]
                      ) -> Tuple[List[Dict[str, Any]], Optional[str], Optional[str]]:
        """A category the catalog knows filters by category; other words search the text."""
        if category:
            found = await self._page(tenant_id, category, named, max_price)
            if found or not named:
                if found:
                    return found, category, named
                return await self._page(tenant_id, None, category, max_price), None, category
        return await self._page(tenant_id, None, named, max_price), None, named

    @staticmethod
    async def _page(tenant_id: str, category: Optional[str], query: Optional[str],
                    max_price: Optional[int]) -> List[Dict[str, Any]]:
        page = await backend.products(tenant_id, q=query, category=category, max_price=max_price,
                                      page_size=MENU_SIZE)
        return page["results"]


class ActionSelectOption(Action):
    """A number or ordinal picks from the last menu, whatever it listed."""

    def name(self) -> Text:
        return "action_select_option"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        menu = live_menu(tracker.get_slot("last_menu"))
        option = entity(tracker, "option")
        if menu is None:
            dispatcher.utter_message(response="utter_menu_expired")
            return [SlotSet("last_menu", None)]
        picked = pick(menu, option) if option else None
        if picked is None:
            dispatcher.utter_message(response="utter_option_out_of_range", count=len(menu["ids"]))
            return []
        handler = select_handler(str(menu.get("kind")))
        if handler is None:
            dispatcher.utter_message(response="utter_menu_expired")
            return [SlotSet("last_menu", None)]
        try:
            return await handler(dispatcher, tracker, menu, picked)
        except BackendUnavailable as exc:
            logger.error("backend unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []


@on_select("products")
async def _picked_product(dispatcher: CollectingDispatcher, tracker: Tracker,
                          menu: Dict[str, Any], product_id: Any) -> List[EventType]:
    tenant_id, _ = tenant_and_customer(tracker)
    try:
        product = await backend.product(tenant_id, int(product_id))
    except NotFound:
        dispatcher.utter_message(response="utter_menu_expired")
        return [SlotSet("last_menu", None)]
    show_product(dispatcher, product)
    return [SlotSet("selected_product", str(product["id"])), SlotSet("selected_variant", None)]


class _ProductAction(Action, ABC):
    """Finds the product the customer means, then `answer`s about it."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            product_id, _, unmatched = await resolve_product(tracker)
            if product_id is None:
                if unmatched:
                    dispatcher.utter_message(response="utter_product_not_found", text=unmatched)
                else:
                    dispatcher.utter_message(response="utter_which_product")
                return []
            product = await backend.product(tenant_id, product_id)
        except NotFound:
            dispatcher.utter_message(response="utter_which_product")
            return [SlotSet("selected_product", None)]
        except BackendUnavailable as exc:
            logger.error("catalog unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        self.answer(dispatcher, product)
        return [SlotSet("selected_product", str(product["id"]))]

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, product: Dict[str, Any]) -> None:
        """Replies about `product`."""


class ActionProductDetails(_ProductAction):
    def name(self) -> Text:
        return "action_product_details"

    def answer(self, dispatcher: CollectingDispatcher, product: Dict[str, Any]) -> None:
        show_product(dispatcher, product)


class ActionPriceCheck(_ProductAction):
    def name(self) -> Text:
        return "action_price_check"

    def answer(self, dispatcher: CollectingDispatcher, product: Dict[str, Any]) -> None:
        if not in_stock_variants(product):
            dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
        else:
            dispatcher.utter_message(response="utter_product_price", title=product["title"],
                                     price=product_price(product))
