"""The cart, the order form, order status and cancellation."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import delivery
from actions.backend import BackendUnavailable, NotFound, backend
from actions.catalog import in_stock_variants, resolve_product, variant_label
from actions.common import entity, idempotency_key, language, requested_count
from actions.confirm import ask_to_confirm, on_confirm
from actions.conversation_owner import tenant_and_customer
from actions.menu import live_menu, new_menu, on_select, pick
from actions.money import format_money
from actions.payments import offer_payment
from kit import texts

logger = logging.getLogger(__name__)
CART = "cart"
MAX_QUANTITY = 20
# Statuses a customer may still cancel from the chat.
CANCELLABLE = ("draft", "pending_payment")


def cart_lines(cart: Dict[str, Any]) -> str:
    return "\n".join(
        f"{item['quantity']} × {item['title']}"
        f"{' (' + variant_label(item) + ')' if item.get('attributes') else ''}"
        f" — {format_money(item['line_total_minor'], cart['currency'])}"
        for item in cart["items"])


def cart_slot(cart: Dict[str, Any]) -> SlotSet:
    return SlotSet(CART, {"items": sum(i["quantity"] for i in cart["items"]),
                          "total_minor": cart["total_minor"]})


async def load_cart(tracker: Tracker) -> Dict[str, Any]:
    tenant_id, customer = tenant_and_customer(tracker)
    answer = await backend.call("GET", tenant_id, "/v1/carts/current", customer=customer)
    if not answer.ok:
        raise BackendUnavailable(f"cart answered {answer.status}")
    return answer.body


_POINTING = {"this", "that", "the", "which", "other", "next", "hii", "hiyo", "ile", "hio"}


def said_a_quantity(tracker: Tracker) -> bool:
    """A quantity entity that is a count, not the "one" of "this one" / "the other one"."""
    text = tracker.latest_message.get("text") or ""
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") != "quantity":
            continue
        before = text[:found.get("start", 0)].lower().split()
        if before and before[-1] in _POINTING:
            continue
        return True
    return False


def pick_variant(product: Dict[str, Any], variant_id: Optional[int], text: str) -> Optional[Dict]:
    """The in-stock variant meant: the matched one, the only one, or one whose size/colour is named."""
    variants = in_stock_variants(product)
    if variant_id is not None:
        for variant in variants:
            if variant["id"] == variant_id:
                return variant
    if len(variants) == 1:
        return variants[0]
    words = set((text or "").lower().replace(",", " ").split())
    named = [v for v in variants
             if {str(a).lower() for a in (v.get("attributes") or {}).values()} & words]
    return named[0] if len(named) == 1 else None


def variant_menu(product: Dict[str, Any]) -> str:
    return "\n".join(f"{i}. {variant_label(v)} — {format_money(v['price_minor'], v['currency'])}"
                     for i, v in enumerate(in_stock_variants(product), start=1))


async def add_to_cart(dispatcher: CollectingDispatcher, tracker: Tracker, product: Dict[str, Any],
                      variant: Dict[str, Any], quantity: int) -> List[EventType]:
    tenant_id, customer = tenant_and_customer(tracker)
    answer = await backend.call("POST", tenant_id, "/v1/carts/current/items", customer=customer,
                                json={"variant_id": variant["id"], "quantity": quantity})
    if answer.status == 409:
        dispatcher.utter_message(response="utter_not_enough_stock", available=variant["stock"])
        return []
    if not answer.ok:
        dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
        return []
    cart = answer.body
    dispatcher.utter_message(response="utter_added_to_cart", quantity=quantity,
                             title=f"{product['title']} ({variant_label(variant)})",
                             total=format_money(cart["total_minor"], cart["currency"]))
    return [cart_slot(cart), SlotSet("selected_product", str(product["id"]))]


class ActionAddToCart(Action):
    def name(self) -> Text:
        return "action_add_to_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        quantity = min(requested_count(tracker) or 1, MAX_QUANTITY)
        try:
            product_id, variant_id, unmatched = await resolve_product(tracker)
            if product_id is None:
                response = "utter_product_not_found" if unmatched else "utter_which_product"
                dispatcher.utter_message(response=response, text=unmatched or "")
                return []
            product = await backend.product(tenant_id, product_id)
            if not in_stock_variants(product):
                dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
                return []
            variant = pick_variant(product, variant_id, tracker.latest_message.get("text", ""))
            if variant is None:
                dispatcher.utter_message(response="utter_ask_variant", title=product["title"],
                                         menu=variant_menu(product))
                ids = [v["id"] for v in in_stock_variants(product)]
                return [SlotSet("selected_product", str(product_id)), SlotSet("quantity", quantity),
                        SlotSet("last_menu", new_menu("cart_variants", ids))]
            return await add_to_cart(dispatcher, tracker, product, variant, quantity)
        except NotFound:
            dispatcher.utter_message(response="utter_which_product")
            return []
        except BackendUnavailable as exc:
            logger.error("cart unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []


@on_select("cart_variants")
async def _picked_cart_variant(dispatcher: CollectingDispatcher, tracker: Tracker,
                               menu: Dict[str, Any], variant_id: Any) -> List[EventType]:
    tenant_id, _ = tenant_and_customer(tracker)
    try:
        product = await backend.product(tenant_id, int(tracker.get_slot("selected_product")))
    except (NotFound, TypeError, ValueError):
        dispatcher.utter_message(response="utter_menu_expired")
        return [SlotSet("last_menu", None)]
    variant = pick_variant(product, int(variant_id), "")
    if variant is None:
        dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
        return []
    quantity = int(tracker.get_slot("quantity") or 1)
    events = await add_to_cart(dispatcher, tracker, product, variant, quantity)
    return [SlotSet("last_menu", None), SlotSet("quantity", None), *events]


class ActionViewCart(Action):
    def name(self) -> Text:
        return "action_view_cart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            cart = await load_cart(tracker)
        except BackendUnavailable as exc:
            logger.error("cart unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if not cart["items"]:
            dispatcher.utter_message(response="utter_cart_empty")
        else:
            dispatcher.utter_message(response="utter_cart_contents", lines=cart_lines(cart),
                                     total=format_money(cart["total_minor"], cart["currency"]))
        return [cart_slot(cart)]


# What reading the chosen product and variant can raise (gone, backend down, a stale slot).
CHOICE_ERRORS = (NotFound, BackendUnavailable, StopIteration, TypeError, ValueError)


async def chosen_goods(tracker: Tracker) -> Tuple[Dict[str, Any], Dict[str, Any], int]:
    """(product, variant, quantity) of the form's single-product order; raises CHOICE_ERRORS."""
    tenant_id, _ = tenant_and_customer(tracker)
    product = await backend.product(tenant_id, int(tracker.get_slot("selected_product")))
    chosen = int(tracker.get_slot("selected_variant") or 0)
    variant = next(v for v in product["variants"] if v["id"] == chosen)
    return product, variant, int(tracker.get_slot("quantity") or 1)


async def goods_minor(tracker: Tracker) -> Optional[int]:
    """The goods' total the order will have (None: the cart's, which the backend knows)."""
    if tracker.get_slot("selected_product") in (None, CART):
        return None
    try:
        _, variant, quantity = await chosen_goods(tracker)
    except CHOICE_ERRORS:
        return None
    return int(variant["price_minor"]) * quantity


def outside_zones(dispatcher: CollectingDispatcher, tracker: Tracker,
                  place: Dict[str, Any]) -> None:
    """The shop does not deliver there: say so, and what the customer can do instead."""
    offered = tracker.get_slot("delivery_options") or {}
    where = place.get("address") or "\N{ROUND PUSHPIN}"
    dispatcher.utter_message(
        response="utter_delivery_outside_zones_pickup" if offered.get("offers_pickup")
        else "utter_delivery_outside_zones", place=where)


class ValidateOrderForm(FormValidationAction):
    """Fills the order: a product (or the whole cart), its variant, a quantity, then a yes."""

    def name(self) -> Text:
        return "validate_order_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        # Once per order: does the shop deliver, pick up, and where did this customer last have
        # things delivered (the delivery questions below depend on it).
        fetched: List[EventType] = []
        if tracker.get_slot("delivery_options") is None:
            offered = await delivery.options(tracker)
            if offered is not None:
                fetched.append(SlotSet("delivery_options", offered))
                if offered.get("offers_delivery") and not offered.get("offers_pickup"):
                    fetched.append(SlotSet("fulfilment", delivery.DELIVERY))
                tracker.add_slots(fetched)
        return fetched + await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("selected_product") == CART:
            goods = ["selected_product"]
        else:
            goods = ["selected_product", "selected_variant", "quantity"]
        return goods + delivery.required(tracker) + ["order_confirmed"]

    async def extract_selected_product(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") not in (None, "selected_product"):
            return {}
        try:
            product_id, variant_id, _ = await resolve_product(tracker, use_slot=False)
            if product_id is not None:
                return {"selected_product": str(product_id),
                        "selected_variant": str(variant_id) if variant_id else None}
            if tracker.get_slot("requested_slot") is None:  # the form just started
                cart = await load_cart(tracker)
                if cart["items"]:
                    return {"selected_product": CART}
        except BackendUnavailable as exc:
            logger.error("order form: %s", exc)
        return {}

    async def validate_selected_product(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if value == CART:
            return {"selected_product": CART}
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            product = await backend.product(tenant_id, int(value))
        except (NotFound, TypeError, ValueError):
            return {"selected_product": None}
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"selected_product": None}
        if not in_stock_variants(product):
            dispatcher.utter_message(response="utter_product_sold_out", title=product["title"])
            return {"selected_product": None}
        slots: Dict[str, Any] = {"selected_product": str(product["id"])}
        chosen = tracker.get_slot("selected_variant")
        variant = pick_variant(product, int(chosen) if chosen else None,
                               tracker.latest_message.get("text", ""))
        if variant is not None:
            slots["selected_variant"] = str(variant["id"])
        count = requested_count(tracker) if said_a_quantity(tracker) else None
        if count:
            slots["quantity"] = float(count)
        return slots

    async def extract_selected_variant(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[Text, Any]:
        requested = tracker.get_slot("requested_slot")
        product_slot = tracker.get_slot("selected_product")
        if requested not in (None, "selected_variant") or product_slot in (None, CART):
            return {}
        if tracker.get_slot("selected_variant") and requested is None:
            return {}
        menu = live_menu(tracker.get_slot("last_menu"))
        option = entity(tracker, "option")
        if requested == "selected_variant" and menu and menu.get("kind") == "variants" and option:
            picked = pick(menu, option)
            if picked is not None:
                return {"selected_variant": str(picked)}
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            product = await backend.product(tenant_id, int(product_slot))
        except (NotFound, BackendUnavailable, TypeError, ValueError):
            return {}
        # The only variant in stock, or the one whose size or colour the message names.
        variant = pick_variant(product, None, tracker.latest_message.get("text", ""))
        return {"selected_variant": str(variant["id"])} if variant else {}

    async def extract_quantity(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested == "quantity":
            count = requested_count(tracker)
        elif requested is None and said_a_quantity(tracker):
            count = requested_count(tracker)  # "I want to buy 2 of these"
        else:
            return {}
        return {"quantity": float(count)} if count is not None else {}

    async def validate_quantity(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        stock = MAX_QUANTITY
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            product = await backend.product(tenant_id, int(tracker.get_slot("selected_product")))
            chosen = int(tracker.get_slot("selected_variant") or 0)
            stock = next((v["stock"] for v in product["variants"] if v["id"] == chosen), stock)
        except (NotFound, BackendUnavailable, TypeError, ValueError):
            pass
        if not 1 <= int(value) <= min(stock, MAX_QUANTITY):
            if int(value) > stock:
                dispatcher.utter_message(response="utter_not_enough_stock", available=stock)
            else:
                dispatcher.utter_message(response="utter_invalid_quantity",
                                         max=min(stock, MAX_QUANTITY))
            return {"quantity": None}
        return {"quantity": float(int(value))}

    async def extract_fulfilment(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "fulfilment":
            return {}
        chosen = delivery.picked_choice(tracker)
        return {"fulfilment": chosen} if chosen else {}

    async def validate_fulfilment(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        offered = tracker.get_slot("delivery_options") or {}
        if value == delivery.PICKUP and offered.get("offers_pickup"):
            return {"fulfilment": value, "delivery_place": None, "delivery_quote": None}
        if value == delivery.DELIVERY and offered.get("offers_delivery"):
            return {"fulfilment": value}
        return {"fulfilment": None}

    async def extract_delivery_same_address(self, dispatcher: CollectingDispatcher,
                                            tracker: Tracker,
                                            domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "delivery_same_address":
            return {}
        pin = delivery.pin_of(tracker)
        if pin is not None:  # a new pin instead of yes or no
            return {"delivery_same_address": False, "delivery_place": pin}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "affirm":
            return {"delivery_same_address": True}
        if intent == "deny":
            return {"delivery_same_address": False}
        return {}

    async def validate_delivery_same_address(self, value: Any, dispatcher: CollectingDispatcher,
                                             tracker: Tracker,
                                             domain: DomainDict) -> Dict[Text, Any]:
        if not value:
            return {"delivery_same_address": False}
        place = {"same_as_last": True, "address": delivery.last_place_words(tracker)}
        found = await delivery.quote(tracker, place, await goods_minor(tracker))
        if found is None:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"delivery_same_address": None}
        if not delivery.covered(found) and found.get("fallback") != "call_customer":
            outside_zones(dispatcher, tracker, place)
            return {"delivery_same_address": False}
        return {"delivery_same_address": True, "delivery_place": place, "delivery_quote": found}

    async def extract_delivery_place(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "delivery_place":
            return {}
        pin = delivery.pin_of(tracker)
        if pin is not None:
            return {"delivery_place": pin}
        text = tracker.latest_message.get("text") or ""
        offered = tracker.get_slot("delivery_options") or {}
        if delivery.choice_in(text) == delivery.PICKUP and offered.get("offers_pickup"):
            return {"fulfilment": delivery.PICKUP}  # "I'll come for it" instead of a place
        place = delivery.place_from_words(text)
        if place is None:
            return {}
        if delivery.is_a_question(tracker):
            # A question the form's rules answer, unless its words are a place the shop covers.
            if not delivery.covered(await delivery.quote(tracker, place, None)):
                return {}
        return {"delivery_place": place}

    async def validate_delivery_place(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if not isinstance(value, dict):
            return {"delivery_place": None}
        found = await delivery.quote(tracker, value, await goods_minor(tracker))
        if found is None:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return {"delivery_place": None}
        if delivery.covered(found):
            return {"delivery_place": value, "delivery_quote": found}
        if found.get("fallback") == "call_customer":
            return {"delivery_place": value, "delivery_quote": found}
        outside_zones(dispatcher, tracker, value)
        return {"delivery_place": None}

    async def extract_order_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "order_confirmed":
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "affirm":
            return {"order_confirmed": True}
        if intent == "deny":
            return {"order_confirmed": False}
        return {}


class ActionAskSelectedVariant(Action):
    def name(self) -> Text:
        return "action_ask_selected_variant"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        tenant_id, _ = tenant_and_customer(tracker)
        try:
            product = await backend.product(tenant_id, int(tracker.get_slot("selected_product")))
        except (NotFound, BackendUnavailable, TypeError, ValueError):
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        dispatcher.utter_message(response="utter_ask_variant", title=product["title"],
                                 menu=variant_menu(product))
        ids = [v["id"] for v in in_stock_variants(product)]
        return [SlotSet("last_menu", new_menu("variants", ids))]


class ActionAskOrderConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_order_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            if tracker.get_slot("selected_product") == CART:
                cart = await load_cart(tracker)
                lines, amount, currency = cart_lines(cart), cart["total_minor"], cart["currency"]
            else:
                product, variant, quantity = await chosen_goods(tracker)
                amount, currency = variant["price_minor"] * quantity, variant["currency"]
                lines = (f"{quantity} × {product['title']} ({variant_label(variant)}) — "
                         f"{format_money(amount, currency)}")
        except CHOICE_ERRORS as exc:
            logger.error("order summary: %r", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        how = delivery.summary(tracker)
        if how is not None:
            lines += "\n" + fulfilment_line(how, language(tracker))
            amount += how.get("fee_minor") or 0
        dispatcher.utter_message(response="utter_ask_order_confirmed", lines=lines,
                                 total=format_money(amount, currency))
        return []


def fulfilment_line(how: Dict[str, Any], lang: str) -> str:
    """The summary's line on pickup or delivery: the zone, the fee (or free), the expected time."""
    if how["kind"] == delivery.PICKUP:
        return texts.word("orders.fulfilment", "pickup", lang)
    if how["needs_call"]:
        return texts.word("orders.fulfilment", "call", lang)
    fee = (format_money(how["fee_minor"], how["currency"]) if how["fee_minor"]
           else texts.word("orders.fulfilment", "free", lang))
    line = texts.word("orders.fulfilment", "delivery", lang).format(zone=how["zone"], fee=fee)
    if how.get("expected_time"):
        line += ", " + texts.word("orders.fulfilment", "when", lang).format(
            when=how["expected_time"])
    return line


ORDER_FORM_SLOTS = ("selected_variant", "quantity", "order_confirmed") + delivery.SLOTS + (
    "delivery_quote", "delivery_options")


def _reset_order_form() -> List[EventType]:
    return [SlotSet(name, None) for name in ORDER_FORM_SLOTS] + [SlotSet("selected_product", None)]


class ActionPlaceOrder(Action):
    def name(self) -> Text:
        return "action_place_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if not tracker.get_slot("order_confirmed"):
            dispatcher.utter_message(response="utter_order_not_placed")
            return _reset_order_form()
        tenant_id, customer = tenant_and_customer(tracker)
        events: List[EventType] = []
        try:
            if tracker.get_slot("selected_product") != CART:
                answer = await backend.call(
                    "POST", tenant_id, "/v1/carts/current/items", customer=customer,
                    json={"variant_id": int(tracker.get_slot("selected_variant")),
                          "quantity": int(tracker.get_slot("quantity") or 1)})
                if not answer.ok:
                    dispatcher.utter_message(response="utter_order_out_of_stock")
                    return _reset_order_form()
            answer = await backend.call("POST", tenant_id, "/v1/orders",
                                        json=delivery.order_request(tracker), customer=customer,
                                        idempotency_key=idempotency_key(tracker, "order"))
            if answer.status == 422 and delivery.refused(answer.body):
                # The zones changed since the quote: nothing ordered; the cart keeps the goods.
                dispatcher.utter_message(response="utter_delivery_refused")
                return _reset_order_form()
            if answer.status in (409, 422):
                dispatcher.utter_message(response="utter_order_out_of_stock")
                return _reset_order_form()
            if not answer.ok:
                raise BackendUnavailable(f"order answered {answer.status}")
            order = answer.body
            events += [SlotSet("order_id", str(order["id"])), SlotSet(CART, {"items": 0,
                                                                             "total_minor": 0})]
            events += await offer_payment(dispatcher, tracker, order, "utter_order_placed")
        except BackendUnavailable as exc:
            logger.error("order failed: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
        return _reset_order_form() + events


async def my_orders(tracker: Tracker, page_size: int = 5) -> List[Dict[str, Any]]:
    tenant_id, customer = tenant_and_customer(tracker)
    answer = await backend.call("GET", tenant_id, "/v1/orders", customer=customer,
                                params={"mine": "true", "page_size": page_size})
    if not answer.ok:
        raise BackendUnavailable(f"orders answered {answer.status}")
    return answer.body["results"]


def order_date(order: Dict[str, Any]) -> str:
    return str(order.get("placed_at") or order["created_at"])[:10]


class ActionOrderStatus(Action):
    def name(self) -> Text:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            orders = await my_orders(tracker, page_size=3)
        except BackendUnavailable as exc:
            logger.error("orders unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        if not orders:
            dispatcher.utter_message(response="utter_no_orders")
            return []
        lang = language(tracker)
        for order in orders:
            status = texts.word("orders.status", order["status"], lang)
            if order.get("courier") or order.get("tracking"):
                status += ". " + (texts.word("orders", "tracking", lang) if order.get("tracking")
                                  else texts.word("orders", "courier", lang)).format(
                    courier=order.get("courier") or "-", tracking=order.get("tracking") or "")
            dispatcher.utter_message(
                response="utter_order_status", order_id=order["id"], date=order_date(order),
                status=status, total=format_money(order["total_minor"], order["currency"]))
        return [SlotSet("order_id", str(orders[0]["id"]))]


class ActionCancelOrder(Action):
    def name(self) -> Text:
        return "action_cancel_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            orders = await my_orders(tracker, page_size=10)
        except BackendUnavailable as exc:
            logger.error("orders unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        wanted = tracker.get_slot("order_id")
        open_orders = [o for o in orders if o["status"] in CANCELLABLE]
        chosen = next((o for o in open_orders if str(o["id"]) == wanted), None)
        chosen = chosen or (open_orders[0] if open_orders else None)
        if chosen is None:
            latest = orders[0] if orders else None
            if latest is not None and latest["status"] in ("paid", "fulfilled", "delivered"):
                dispatcher.utter_message(
                    response="utter_order_cannot_cancel", order_id=latest["id"],
                    status=texts.word("orders.status", latest["status"], language(tracker)))
            else:
                dispatcher.utter_message(response="utter_no_cancellable_order")
            return []
        dispatcher.utter_message(response="utter_confirm_cancel_order", order_id=chosen["id"],
                                 total=format_money(chosen["total_minor"], chosen["currency"]))
        return [ask_to_confirm("cancel_order", chosen["id"]), SlotSet("order_id", str(chosen["id"]))]


@on_confirm("cancel_order")
async def _cancel_order(dispatcher: CollectingDispatcher, tracker: Tracker,
                        what: Dict[str, Any]) -> List[EventType]:
    tenant_id, customer = tenant_and_customer(tracker)
    try:
        answer = await backend.call("POST", tenant_id, f"/v1/orders/{int(what['id'])}/transitions",
                                    customer=customer, json={"to": "cancelled",
                                                       "reason": "cancelled by the customer in chat"})
    except BackendUnavailable as exc:
        logger.error("cancel failed: %s", exc)
        dispatcher.utter_message(response="utter_backend_unavailable")
        return []
    if answer.ok:
        dispatcher.utter_message(response="utter_order_cancelled", order_id=what["id"])
    elif answer.status == 409:
        dispatcher.utter_message(response="utter_order_cannot_cancel", order_id=what["id"],
                                 status=answer.description or "")
    else:
        dispatcher.utter_message(response="utter_no_cancellable_order")
    return []
