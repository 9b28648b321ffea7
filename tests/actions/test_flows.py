"""The shopping, ordering, payment and support actions against a fake backend on loopback."""
from __future__ import annotations

import time

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.catalog import ActionPriceCheck, ActionProductDetails, ActionSelectOption
from actions.confirm import ActionConfirm, ActionDecline
from actions.inform import ActionHandleInform
from actions.language import ActionChangeLanguage, ValidateSlotMappings, requested_language
from actions.menu import new_menu
from actions.orders import (ActionAddToCart, ActionAskOrderConfirmed, ActionCancelOrder,
                            ActionOrderStatus, ActionPlaceOrder, ActionViewCart, ValidateOrderForm)
from actions.payments import ActionPaymentResult, kenyan_mobile
from actions.support import (CONSENT_CHANGES, CONSENT_CONFIRM_BELOW, ActionAnswerQuestion,
                             ActionFallback, ActionRequestHuman, ActionUpdateConsent)
from tests.actions.fake_shop import PHONE, REF

pytestmark = pytest.mark.asyncio


def t(intent="inform", text="", entities=None, slots=None, events=None, requested_slot=None):
    slots = {"language": "en", "tenant_id": "shop", **(slots or {})}
    if requested_slot:
        slots["requested_slot"] = requested_slot
    # What the channel sends: an opaque customer reference and a masked hint, never the phone.
    return Tracker(sender_id=f"shop:{REF}", slots=slots,
                   latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                                   "entities": entities or [], "message_id": "m1",
                                   "metadata": {"phone_hint": "0712 *** 678"}},
                   events=events or [], paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


async def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(messages):
    return [m["response"] for m in messages]


def entities_of(values: dict) -> list:
    return [{"entity": name, "value": value} for name, value in values.items()]


# catalog -----------------------------------------------------------------------------------------
async def test_details_of_a_named_product(shop):
    messages, events = await run(ActionProductDetails(), t(
        "product_details", "tell me about the leather boots",
        [{"entity": "product", "value": "leather boots"}]))
    assert responses(messages) == ["utter_product_details"]
    assert messages[0]["title"] == "Leather boots" and messages[0]["options"] == "40, 41"
    assert slots_of(events)["selected_product"] == "12"
    # Its photo goes with the details (the first one WhatsApp can fetch).
    assert messages[0]["image"] == "https://cdn.example.com/boots.jpg"
    messages, _ = await run(ActionProductDetails(), t(
        "product_details", "tell me about the denim jacket",
        [{"entity": "product", "value": "denim jacket"}]))
    assert messages[0]["title"] == "Denim jacket" and not messages[0].get("image")


async def test_price_of_a_pick_from_the_menu(shop):
    menu = new_menu("products", [11, 12, 14])
    messages, _ = await run(ActionPriceCheck(), t(
        "price_check", "how much is the second one", [{"entity": "option", "value": "2"}],
        {"last_menu": menu}))
    assert messages[0]["response"] == "utter_product_price"
    assert messages[0]["price"] == "KES 4,500 – 4,800"


async def test_price_without_a_product_asks_which(shop):
    messages, _ = await run(ActionPriceCheck(), t("price_check", "how much"))
    assert responses(messages) == ["utter_which_product"]


async def test_unknown_product_is_named_back(shop):
    messages, _ = await run(ActionProductDetails(), t(
        "product_details", "do you have the zebra hat", [{"entity": "product", "value": "zebra hat"}]))
    assert messages[0]["response"] == "utter_product_not_found" and messages[0]["text"] == "zebra hat"


async def test_backend_down_gives_a_reply(shop):
    shop.fail["/v1/products"] = 503
    messages, _ = await run(ActionProductDetails(), t(
        "product_details", "boots", [{"entity": "product", "value": "boots"}]))
    assert responses(messages) == ["utter_backend_unavailable"]


async def test_an_expired_menu_is_refused(shop):
    menu = new_menu("products", [11], now=time.time() - 3600)
    messages, events = await run(ActionSelectOption(), t(
        "select_option", "1", [{"entity": "option", "value": "1"}], {"last_menu": menu}))
    assert responses(messages) == ["utter_menu_expired"]
    assert slots_of(events)["last_menu"] is None


# cart and orders ---------------------------------------------------------------------------------
async def test_add_two_of_a_single_variant_product(shop):
    messages, events = await run(ActionAddToCart(), t(
        "add_to_cart", "add 2 canvas sneakers to cart",
        [{"entity": "product", "value": "canvas sneakers"}, {"entity": "quantity", "value": "2"}]))
    assert messages[0]["response"] == "utter_added_to_cart"
    assert messages[0]["quantity"] == 2 and messages[0]["total"] == "KES 5,000"
    assert slots_of(events)["cart"] == {"items": 2, "total_minor": 500000}


async def test_add_a_product_with_sizes_asks_which_then_adds_the_pick(shop):
    messages, events = await run(ActionAddToCart(), t(
        "add_to_cart", "weka boots mbili kwa cart",
        [{"entity": "product", "value": "boots"}, {"entity": "quantity", "value": "mbili"}],
        {"language": "sw"}))
    assert messages[0]["response"] == "utter_ask_variant"
    slots = slots_of(events)
    assert slots["last_menu"]["kind"] == "cart_variants" and slots["quantity"] == 2
    messages, events = await run(ActionSelectOption(), t(
        "select_option", "ya pili", [{"entity": "option", "value": "2"}],
        {"last_menu": slots["last_menu"], "selected_product": "12", "quantity": 2.0}))
    assert messages[0]["response"] == "utter_added_to_cart"
    assert shop.cart[0]["variant_id"] == 121 and shop.cart[0]["quantity"] == 2


async def test_more_than_the_stock_is_refused(shop):
    messages, _ = await run(ActionAddToCart(), t(
        "add_to_cart", "add 9 denim jacket", [{"entity": "product", "value": "denim jacket"},
                                              {"entity": "quantity", "value": "9"}]))
    assert messages[0]["response"] == "utter_not_enough_stock" and messages[0]["available"] == 5


async def test_view_an_empty_then_full_cart(shop):
    messages, _ = await run(ActionViewCart(), t("view_cart"))
    assert responses(messages) == ["utter_cart_empty"]
    shop.cart.append({**shop.variant(110), "variant_id": 110, "quantity": 1})
    messages, _ = await run(ActionViewCart(), t("view_cart"))
    assert messages[0]["response"] == "utter_cart_contents"
    assert messages[0]["lines"] == "1 × Canvas sneakers (40) — KES 2,500"


async def test_order_form_takes_product_variant_quantity_and_yes(shop):
    form = ValidateOrderForm()
    dispatcher = CollectingDispatcher()
    found = await form.extract_selected_product(dispatcher, t(
        "place_order", "i want to buy leather boots",
        [{"entity": "product", "value": "leather boots"}]), {})
    assert found["selected_product"] == "12"
    validated = await form.validate_selected_product("12", dispatcher, t(
        "place_order", "i want to buy leather boots size 41"), {})
    assert validated == {"selected_product": "12", "selected_variant": "121"}
    quantity = await form.extract_quantity(dispatcher, t(
        "inform", "mbili tu", requested_slot="quantity"), {})
    assert quantity == {"quantity": 2.0}
    too_many = await form.validate_quantity(50, dispatcher, t(
        "inform", "50", slots={"selected_product": "12", "selected_variant": "121"}), {})
    assert too_many == {"quantity": None}
    yes = await form.extract_order_confirmed(dispatcher, t(
        "affirm", "ndio", requested_slot="order_confirmed"), {})
    assert yes == {"order_confirmed": True}


async def test_order_form_orders_the_cart_when_nothing_is_named(shop):
    shop.cart.append({**shop.variant(140), "variant_id": 140, "quantity": 1})
    found = await ValidateOrderForm().extract_selected_product(
        CollectingDispatcher(), t("place_order", "checkout"), {})
    assert found == {"selected_product": "cart"}
    messages, _ = await run(ActionAskOrderConfirmed(), t(slots={"selected_product": "cart"}))
    assert messages[0]["total"] == "KES 3,200"


async def test_place_order_then_payment_menu(shop):
    messages, events = await run(ActionPlaceOrder(), t("affirm", "yes", slots={
        "order_confirmed": True, "selected_product": "11", "selected_variant": "110",
        "quantity": 2.0}))
    assert messages[0]["response"] == "utter_order_placed"
    assert messages[0]["order_id"] == 100 and messages[0]["total"] == "KES 5,000"
    assert messages[0]["menu"].splitlines() == [
        "1. M-Pesa: a payment request to 0712 *** 678", "2. M-Pesa on another number",
        "3. M-Pesa Paybill/Till (pay yourself)", "4. Card (a payment link)"]
    slots = slots_of(events)
    assert slots["order_id"] == "100" and slots["selected_product"] is None
    assert slots["last_menu"]["kind"] == "payment_methods"
    order_request = [r for r in shop.requests if r["path"] == "/v1/orders"][0]
    assert order_request["headers"]["Idempotency-Key"] == f"shop:{REF}:m1:order"


async def test_declined_order_is_not_placed(shop):
    messages, _ = await run(ActionPlaceOrder(), t("deny", "no", slots={"order_confirmed": False}))
    assert responses(messages) == ["utter_order_not_placed"]
    assert not shop.orders


async def test_sold_out_at_checkout(shop):
    messages, _ = await run(ActionPlaceOrder(), t("affirm", "yes", slots={
        "order_confirmed": True, "selected_product": "11", "selected_variant": "110",
        "quantity": 99.0}))
    assert responses(messages) == ["utter_order_out_of_stock"]


async def _order(shop):
    shop.cart.append({**shop.variant(110), "variant_id": 110, "quantity": 1})
    await run(ActionPlaceOrder(), t("affirm", "yes", slots={"order_confirmed": True,
                                                            "selected_product": "cart"}))
    return shop.orders[-1]


async def test_status_in_swahili(shop):
    await _order(shop)
    messages, _ = await run(ActionOrderStatus(), t("check_order_status", slots={"language": "sw"}))
    assert messages[0]["status"] == "inasubiri malipo"
    messages, _ = await run(ActionOrderStatus(), t("check_order_status"))
    assert messages[0]["status"] == "waiting for payment"


async def test_no_orders(shop):
    messages, _ = await run(ActionOrderStatus(), t("check_order_status"))
    assert responses(messages) == ["utter_no_orders"]


async def test_cancel_asks_then_cancels_on_yes(shop):
    order = await _order(shop)
    messages, events = await run(ActionCancelOrder(), t("cancel_order", "cancel my order"))
    assert messages[0]["response"] == "utter_confirm_cancel_order"
    pending = slots_of(events)["pending_confirmation"]
    assert pending == {"kind": "cancel_order", "id": str(order["id"])}
    messages, events = await run(ActionConfirm(), t("affirm", "yes",
                                                    slots={"pending_confirmation": pending}))
    assert responses(messages) == ["utter_order_cancelled"]
    assert order["status"] == "cancelled" and slots_of(events)["pending_confirmation"] is None


async def test_a_cancel_is_asked_however_sure_the_classifier_is(shop):
    """Money changes are confirmed at every confidence (consent only below a threshold)."""
    order = await _order(shop)
    tracker = t("cancel_order", "cancel my order")
    tracker.latest_message["intent"]["confidence"] = 1.0
    messages, _ = await run(ActionCancelOrder(), tracker)
    assert responses(messages) == ["utter_confirm_cancel_order"]
    assert not [r for r in shop.requests if r["path"].endswith("/transitions")]
    assert order["status"] == "pending_payment"


async def test_no_to_the_cancel_keeps_the_order(shop):
    order = await _order(shop)
    messages, _ = await run(ActionDecline(), t("deny", "no", slots={
        "pending_confirmation": {"kind": "cancel_order", "id": str(order["id"])}}))
    assert responses(messages) == ["utter_declined"] and order["status"] == "pending_payment"


async def test_a_paid_order_cannot_be_cancelled_here(shop):
    order = await _order(shop)
    order["status"] = "paid"
    messages, _ = await run(ActionCancelOrder(), t("cancel_order"))
    assert responses(messages) == ["utter_order_cannot_cancel"]


# payments ----------------------------------------------------------------------------------------
async def test_pick_mpesa_sends_the_request_to_the_customer(shop):
    await _order(shop)
    menu = new_menu("payment_methods", ["mpesa_stk", "mpesa_other", "mpesa_manual", "card"])
    messages, events = await run(ActionSelectOption(), t(
        "select_option", "1", [{"entity": "option", "value": "1"}], {"last_menu": menu}))
    # The customer's own number: left for the backend to resolve, shown masked.
    assert messages[0]["response"] == "utter_stk_sent" and messages[0]["phone"] == "0712***678"
    assert shop.asked_phones[0] is None and slots_of(events)["payment_id"] == "500"
    assert PHONE not in str(shop.requests)


async def test_another_number_is_asked_then_validated(shop):
    await _order(shop)
    menu = new_menu("payment_methods", ["mpesa_stk", "mpesa_other", "mpesa_manual", "card"])
    messages, events = await run(ActionSelectOption(), t(
        "select_option", "2", [{"entity": "option", "value": "2"}], {"last_menu": menu}))
    assert responses(messages) == ["utter_ask_mpesa_number"]
    flow = slots_of(events)["current_flow"]
    messages, _ = await run(ActionHandleInform(), t("inform", "0712 34", slots={"current_flow": flow}))
    assert responses(messages) == ["utter_invalid_phone"]
    messages, events = await run(ActionHandleInform(), t(
        "inform", "0722 000 111", [{"entity": "phone_number", "value": "0722 000 111"}],
        {"current_flow": flow}))
    assert messages[0]["response"] == "utter_stk_sent" and messages[0]["phone"] == "0722***111"
    assert shop.asked_phones[0] == "+254722000111"
    assert slots_of(events)["current_flow"] is None


@pytest.mark.parametrize("text, expected", [
    ("0712345678", "+254712345678"), ("254 712 345 678", "+254712345678"),
    ("+254110123456", "+254110123456"), ("0712", None), ("+255712345678", None), ("hello", None)])
async def test_kenyan_mobile_numbers(text, expected):
    assert kenyan_mobile(text) == expected


async def test_manual_and_card_payments(shop):
    await _order(shop)
    menu = new_menu("payment_methods", ["mpesa_stk", "mpesa_other", "mpesa_manual", "card"])
    messages, _ = await run(ActionSelectOption(), t(
        "select_option", "3", [{"entity": "option", "value": "3"}], {"last_menu": menu}))
    assert messages[0]["response"] == "utter_manual_payment"
    assert "600100" in messages[0]["how"] and messages[0]["account"] == "ORD100"
    messages, _ = await run(ActionSelectOption(), t(
        "select_option", "4", [{"entity": "option", "value": "4"}], {"last_menu": menu}))
    assert messages[0]["response"] == "utter_card_link"
    assert messages[0]["url"] == "https://pay.example/c/1"


async def test_card_refused_when_the_shop_has_no_cards(shop):
    await _order(shop)
    shop.features["card_payments"] = False
    messages, _ = await run(ActionHandleInform(), t(
        "inform", "card", [{"entity": "payment_method", "value": "card"}]))
    assert responses(messages) == ["utter_payment_method_unavailable"]


async def test_no_order_to_pay(shop):
    messages, _ = await run(ActionHandleInform(), t(
        "inform", "mpesa", [{"entity": "payment_method", "value": "mpesa"}]))
    assert responses(messages) == ["utter_no_order_to_pay"]


async def test_payment_received_and_failed_in_swahili(shop):
    await _order(shop)
    await run(ActionHandleInform(), t("inform", "mpesa",
                                      [{"entity": "payment_method", "value": "mpesa"}]))
    asked = len(shop.requests)
    # The trigger carries the payment (as backend/services/payments/notices.py sends it).
    paid = {"payment_id": 500, "payment_status": "succeeded", "payment_amount_minor": 250000,
            "payment_currency": "KES", "payment_order_id": 100, "payment_receipt": "QKX12ABC34"}
    messages, _ = await run(ActionPaymentResult(), t(
        "EXTERNAL_payment_received", entities=entities_of(paid)))
    assert messages[0]["response"] == "utter_payment_received"
    assert messages[0]["receipt"] == "QKX12ABC34" and messages[0]["amount"] == "KES 2,500"
    failed = {**paid, "payment_status": "failed", "payment_failure_code": "2001"}
    del failed["payment_receipt"]
    messages, events = await run(ActionPaymentResult(), t(
        "EXTERNAL_payment_failed", entities=entities_of(failed), slots={"language": "sw"}))
    assert messages[0]["reason"] == "PIN ya M-Pesa haikuwa sahihi"
    assert slots_of(events)["last_menu"]["kind"] == "payment_retry"
    assert slots_of(events)["order_id"] == "100"
    assert len(shop.requests) == asked  # no call back to the backend


async def test_payment_trigger_without_details_says_the_backend_is_unavailable(shop):
    messages, _ = await run(ActionPaymentResult(), t(
        "EXTERNAL_payment_received", entities=[{"entity": "payment_id", "value": 500}]))
    assert responses(messages) == ["utter_backend_unavailable"]
    assert shop.requests == []



# support -----------------------------------------------------------------------------------------
async def test_answer_with_its_source(shop):
    shop.faq = {"answer": "Returns within 7 days.", "answered": True, "language": "en",
                "language_fallback": False, "sources": [{"id": 1, "kind": "faq",
                                                         "title": "Returns"}],
                "confidence": 0.9, "method": "faq", "offer_human": False}
    messages, _ = await run(ActionAnswerQuestion(), t("return_policy", "can i return shoes"))
    assert messages[0]["response"] == "utter_answer" and messages[0]["source"] == "Returns"
    request = [r for r in shop.requests if r["path"] == "/v1/faq/answer"][0]
    assert request["json"] == {"question": "can i return shoes", "language": "en",
                               "intent": "return_policy"}


async def test_unsure_answer_offers_a_person_and_yes_hands_off(shop):
    messages, events = await run(ActionAnswerQuestion(), t("ask_faq", "do you sell cars"))
    assert responses(messages) == ["utter_answer_unsure"]
    pending = slots_of(events)["pending_confirmation"]
    messages, events = await run(ActionConfirm(), t("affirm", "yes",
                                                    slots={"pending_confirmation": pending}))
    assert responses(messages) == ["utter_handoff"]
    assert shop.handoffs[0]["reason"] == "requested"
    assert any(e.get("event") == "pause" for e in events)


async def test_request_human_pauses(shop):
    messages, events = await run(ActionRequestHuman(), t("request_human", "nataka mtu"))
    assert responses(messages) == ["utter_handoff"]
    assert shop.handoffs[0]["sender_id"] == f"shop:{REF}"
    assert shop.handoffs[0]["customer_ref"] == REF and "phone" not in shop.handoffs[0]
    assert slots_of(events)["needs_human"] is True
    assert any(e.get("event") == "pause" for e in events)


async def test_handoff_failure_does_not_pause(shop):
    shop.fail["/internal"] = 503
    messages, events = await run(ActionRequestHuman(), t("request_human", "agent"))
    assert responses(messages) == ["utter_backend_unavailable"] and events == []


def _fallback_events(n):
    return [{"event": "user", "text": "x", "parse_data": {"intent": {"name": "nlu_fallback"}}}] * n


async def test_first_fallback_rephrases_second_hands_off(shop):
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "asdf", events=_fallback_events(1)))
    assert responses(messages) == ["utter_please_rephrase"]
    messages, events = await run(ActionFallback(), t("nlu_fallback", "qwer",
                                                     events=_fallback_events(2)))
    assert responses(messages) == ["utter_handoff_after_fallbacks"]
    assert shop.handoffs[0]["reason"] == "fallback"


RETURNS = {"answer": "Unaweza kurudisha viatu ndani ya siku 7.", "answered": True, "language": "sw",
           "language_fallback": False, "sources": [{"id": 3, "kind": "faq", "title": "Kurudisha"}],
           "confidence": 0.8, "method": "faq", "offer_human": False}


def _answered_miss():
    """A message not understood that the knowledge base answered (the bot event as Rasa logs it)."""
    return [{"event": "user", "text": "x", "parse_data": {"intent": {"name": "nlu_fallback"}}},
            {"event": "action", "name": "action_fallback"},
            {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_answer"}}]


async def test_a_fallback_asks_the_knowledge_base_before_rephrasing(shop):
    shop.faq = RETURNS
    question = "nilinunua viatu vinanibana, naweza kuvirudisha?"
    messages, events = await run(ActionFallback(), t(
        "nlu_fallback", question, slots={"language": "sw"}, events=_fallback_events(2)))
    assert responses(messages) == ["utter_answer"]  # answered, not rephrase nor a person
    assert messages[0]["answer"] == RETURNS["answer"] and messages[0]["source"] == "Kurudisha"
    assert shop.handoffs == [] and events == []
    [request] = [r for r in shop.requests if r["path"] == "/v1/faq/answer"]
    assert request["json"] == {"question": question, "language": "sw", "intent": None}


async def test_a_declined_question_is_rephrased_and_an_answered_one_is_not_a_miss(shop):
    # the knowledge base declines (the fake's default): the first miss asks to rephrase …
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "blah", events=_fallback_events(1)))
    assert responses(messages) == ["utter_please_rephrase"]
    assert "/v1/faq/answer" in [r["path"] for r in shop.requests]
    # … and a miss after an answered one is still the first in a row
    events = _answered_miss() + _fallback_events(1)
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "blah", events=events))
    assert responses(messages) == ["utter_please_rephrase"] and shop.handoffs == []
    # two unanswered misses in a row bring a person, as before
    events = _answered_miss() + _fallback_events(2)
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "blah", events=events))
    assert responses(messages) == ["utter_handoff_after_fallbacks"]


async def test_a_fallback_without_the_knowledge_base_still_asks_to_rephrase(shop):
    shop.fail["/v1/faq"] = 503
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "hmm?", events=_fallback_events(1)))
    assert responses(messages) == ["utter_please_rephrase"]


async def test_fallback_follows_a_confident_llm_classification(shop):
    shop.classify = {"intent": "delivery_fees", "confidence": 0.92, "model": "m"}
    messages, events = await run(ActionFallback(), t("nlu_fallback", "mnafikisha mzigo ruaka?",
                                                     events=_fallback_events(1)))
    assert messages == []
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[-1]["parse_data"]["intent"]["name"] == "delivery_fees"
    shop.classify = {"intent": "stop_all", "confidence": 0.99, "model": "m"}
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "hmm", events=_fallback_events(1)))
    assert responses(messages) == ["utter_please_rephrase"]


@pytest.mark.parametrize("intent, change, response", [
    ("stop_all", {"transactional": False, "reminders": False, "promotional": False},
     "utter_stopped_all"),
    ("start_all", {"transactional": True, "reminders": True}, "utter_started_all"),
    ("opt_out_promotions", {"promotional": False}, "utter_opted_out_promotions"),
    ("opt_in_promotions", {"promotional": True}, "utter_opted_in_promotions")])
async def test_consent_changes(shop, intent, change, response):
    messages, _ = await run(ActionUpdateConsent(), consent(intent, "STOP", 0.99))
    assert responses(messages) == [response]
    request = [r for r in shop.requests if r["path"] == "/v1/customers/me/preferences"][0]
    assert request["method"] == "PATCH" and request["json"] == change
    assert request["headers"]["X-CUSTOMER-REF"] == REF


async def test_consent_not_saved_says_so(shop):
    shop.fail["/v1/customers"] = 500
    messages, _ = await run(ActionUpdateConsent(), consent("stop_all", "STOP", 0.99))
    assert responses(messages) == ["utter_backend_unavailable"]


def consent(intent, text, confidence, check=None, slots=None):
    """A consent message as Rasa sends it: the classifier's confidence and the consent reader's
    `consent_check` (bot.components.consent_scope)."""
    tracker = t(intent, text, slots=slots)
    tracker.latest_message["intent"]["confidence"] = confidence
    if check is not None:
        tracker.latest_message["consent_check"] = check
    return tracker


def preference_changes(shop):
    return [r["json"] for r in shop.requests if r["path"] == "/v1/customers/me/preferences"]


@pytest.mark.parametrize("intent, confidence, check", [
    ("opt_out_promotions", CONSENT_CONFIRM_BELOW - 0.01, None),
    ("opt_in_promotions", 0.75, {"confirm": False}),
    ("stop_all", 0.9, {"confirm": False, "explicit": False}),
    ("start_all", 0.8, None),
    # the consent reader found the words ambiguous ("I don't mind offers"): asked however sure
    ("opt_in_promotions", 0.999, {"confirm": True, "explicit": False})])
async def test_an_unsure_consent_change_is_asked_first_and_yes_makes_it(shop, intent, confidence,
                                                                       check):
    messages, events = await run(ActionUpdateConsent(), consent(intent, "hmm", confidence, check))
    assert responses(messages) == [f"utter_confirm_{intent}"]
    assert preference_changes(shop) == []  # nothing changed yet
    pending = slots_of(events)["pending_confirmation"]
    assert pending == {"kind": "consent", "id": intent}
    messages, events = await run(ActionConfirm(), t("affirm", "ndiyo",
                                                    slots={"pending_confirmation": pending}))
    assert responses(messages) == [CONSENT_CHANGES[intent][1]]
    assert preference_changes(shop) == [CONSENT_CHANGES[intent][0]]
    assert slots_of(events)["pending_confirmation"] is None


async def test_no_to_a_consent_question_changes_nothing(shop):
    _, events = await run(ActionUpdateConsent(), consent("stop_all", "acha", 0.8))
    pending = slots_of(events)["pending_confirmation"]
    messages, _ = await run(ActionDecline(), t("deny", "hapana",
                                               slots={"pending_confirmation": pending}))
    assert responses(messages) == ["utter_declined"]
    assert preference_changes(shop) == []


async def test_a_bare_stop_keyword_acts_at_once(shop):
    messages, _ = await run(ActionUpdateConsent(), consent(
        "stop_all", "STOP", 0.8, {"confirm": False, "explicit": True}))
    assert responses(messages) == ["utter_stopped_all"]
    assert preference_changes(shop) == [CONSENT_CHANGES["stop_all"][0]]


async def test_every_consent_question_is_written_in_the_three_languages():
    import yaml
    from pathlib import Path

    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain" / "support.yml").read_text())
    for intent in CONSENT_CHANGES:
        variants = domain["responses"][f"utter_confirm_{intent}"]
        languages = {(v.get("condition") or [{}])[0].get("value") for v in variants}
        assert languages == {"sw", "sheng", None}, intent  # None: the English default
        assert all("?" in v["text"] for v in variants)


# language ----------------------------------------------------------------------------------------
def _lang(slots, detected, metadata=None):
    tracker = t("greet", "x", [{"entity": "language", "value": detected}] if detected else [],
                slots)
    if metadata:
        tracker.latest_message["metadata"] = metadata
    return tracker


@pytest.mark.parametrize("slots, detected, expected", [
    ({"language": "en"}, "sw", {"language": "sw"}),
    ({"language": "sw"}, "mixed", {}),
    ({"language": "sheng"}, None, {}),
    ({"language": "sw", "language_choice": "en"}, "sw", {"language": "en"}),
    ({"language": "en", "language_choice": "en"}, "sheng", {}),
])
async def test_language_follows_clear_messages_and_holds_a_choice(shop, slots, detected,
                                                                  expected):
    got = await ValidateSlotMappings().extract_language(CollectingDispatcher(),
                                                        _lang(slots, detected), {})
    assert got == expected
    # A language the customer wrote in goes on their record (shipping notices, reminders).
    recorded = [r["json"] for r in shop.requests if r["path"] == "/v1/customers/me/preferences"]
    assert recorded == ([{"language": detected}] if detected and expected.get("language") == detected
                        else [])


async def test_a_new_mixed_conversation_starts_in_the_merchants_language(shop):
    tracker = _lang({"language": None}, "mixed", {"tenant_language": "sw"})
    assert await ValidateSlotMappings().extract_language(CollectingDispatcher(), tracker, {}) == {
        "language": "sw"}
    assert not shop.requests  # the merchant's language is not the customer's


async def test_the_language_is_still_followed_when_the_backend_is_down(shop):
    shop.status = 503
    got = await ValidateSlotMappings().extract_language(
        CollectingDispatcher(), _lang({"language": "en"}, "sw"), {})
    assert got == {"language": "sw"}


@pytest.mark.parametrize("text, expected", [
    ("speak english please", "en"), ("ongea kiswahili", "sw"), ("nijibu kwa kiingereza", "en"),
    ("tuongee sheng bana", "sheng"), ("talk to me", None)])
async def test_requested_language(text, expected):
    assert requested_language(text) == expected


DOMAIN = {"responses": {"utter_language_switched": [
    {"condition": [{"type": "slot", "name": "language", "value": "sw"}], "text": "Sawa"},
    {"text": "Sure"}]}}


async def test_change_language_confirms_in_the_new_language(shop):
    dispatcher = CollectingDispatcher()
    events = await ActionChangeLanguage().run(
        dispatcher, t("change_language", "ongea kiswahili", slots={"language": "en"}), DOMAIN)
    assert [m["text"] for m in dispatcher.messages] == ["Sawa"]
    assert slots_of(events) == {"language_choice": "sw", "language": "sw"}
    assert shop.preferences["language"] == "sw"
    dispatcher = CollectingDispatcher()
    await ActionChangeLanguage().run(dispatcher, t("change_language", "speak english"), DOMAIN)
    assert [m["text"] for m in dispatcher.messages] == ["Sure"]
    messages, events = await run(ActionChangeLanguage(), t("change_language", "change language"))
    assert responses(messages) == ["utter_language_which"] and events == []


async def test_handoff_in_quiet_hours_says_when(shop):
    tracker = t("request_human", "agent please")
    tracker.latest_message["metadata"] = {"quiet_until": "07:00"}
    messages, events = await run(ActionRequestHuman(), tracker)
    assert messages[0]["response"] == "utter_handoff_quiet_hours" and messages[0]["until"] == "07:00"
    assert any(e.get("event") == "pause" for e in events)


async def test_this_one_is_not_a_quantity(shop):
    form = ValidateOrderForm()
    tracker = t("place_order", "i want to buy this one",
                [{"entity": "quantity", "value": "1", "start": 19, "end": 22}])
    assert await form.extract_quantity(CollectingDispatcher(), tracker, {}) == {}
    tracker = t("place_order", "i want to buy 2 of these",
                [{"entity": "quantity", "value": "2", "start": 14, "end": 15}])
    assert await form.extract_quantity(CollectingDispatcher(), tracker, {}) == {"quantity": 2.0}


async def test_a_bare_date_outside_a_form_checks_availability(shop, monkeypatch):
    seen = []

    async def fake_run(self, dispatcher, tracker, domain):
        seen.append(tracker.latest_message["text"])
        return []
    monkeypatch.setattr("actions.bookings.availability.ActionCheckAvailability.run", fake_run)
    await run(ActionHandleInform(), t("inform", "kesho saa nne", [{"entity": "date", "value": "kesho"}]))
    assert seen == ["kesho saa nne"]
    messages, _ = await run(ActionHandleInform(), t("inform", "blue"))
    assert responses(messages) == ["utter_what_can_i_do"]


async def test_a_bare_number_the_classifier_could_not_place_picks_from_the_live_menu(shop):
    menu = new_menu("products", [11, 12, 14])
    option = [{"entity": "option", "value": "2", "start": 0, "end": 1},
              {"entity": "phone_number", "value": "2", "start": 0, "end": 1}]
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "2", option, {"last_menu": menu}))
    assert messages[0]["response"] == "utter_product_details" and messages[0]["title"] == "Leather boots"
    messages, _ = await run(ActionHandleInform(), t("inform", "2", option, {"last_menu": menu}))
    assert messages[0]["title"] == "Leather boots"
    # Without a live menu it is not a pick.
    messages, _ = await run(ActionFallback(), t("nlu_fallback", "2", option,
                                                events=_fallback_events(1)))
    assert responses(messages) == ["utter_please_rephrase"]
