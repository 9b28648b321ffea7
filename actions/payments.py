"""Paying for an order from the chat: the choice of method, the M-Pesa request, the result."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import phonenumbers
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendUnavailable, backend
from actions.common import entity, idempotency_key, language
from actions.conversation_owner import phone_hint, tenant_and_customer
from actions.menu import new_menu, on_select
from actions.money import format_money
from kit import texts

logger = logging.getLogger(__name__)


def kenyan_mobile(text: Optional[str]) -> Optional[str]:
    """E.164 of a Kenyan mobile number written any usual way (07…, 01…, 2547…, +254 7…)."""
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    try:
        number = phonenumbers.parse(digits, "KE")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 254 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shown_phone(masked: Optional[str]) -> str:
    """The backend's masked payment phone in the local spelling: +254712***678 → 0712***678.
    Replies are stored (tracker, outbound log): they never carry a phone in full."""
    if not masked:
        return ""
    return "0" + masked[4:] if masked.startswith("+254") else masked


async def payment_options(tenant_id: str) -> List[str]:
    answer = await backend.call("GET", tenant_id, "/v1/tenant")
    features = answer.body.get("features", {}) if answer.ok else {}
    options = []
    if features.get("mpesa_stk", True):
        options += ["mpesa_stk", "mpesa_other"]
    options.append("mpesa_manual")
    if features.get("card_payments", False):
        options.append("card")
    return options


async def offer_payment(dispatcher: CollectingDispatcher, tracker: Tracker,
                        order: Dict[str, Any], response: str, **extra: Any) -> List[EventType]:
    """The numbered payment choice for an order (`response` names it, e.g. utter_order_placed;
    `extra`: more of that response's variables, as a booking's deposit has)."""
    tenant_id, _ = tenant_and_customer(tracker)
    options = await payment_options(tenant_id)
    lang = language(tracker)
    shown = phone_hint(tracker) or texts.text("payments.your_number", lang)
    menu = "\n".join(f"{i}. {texts.word('payments.methods', option, lang).format(phone=shown)}"
                     for i, option in enumerate(options, start=1))
    dispatcher.utter_message(response=response, order_id=order["id"], menu=menu,
                             total=format_money(order["total_minor"], order["currency"]),
                             **extra)
    return [SlotSet("order_id", str(order["id"])),
            SlotSet("last_menu", new_menu("payment_methods", options))]


async def pending_order(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The order in this conversation still waiting for payment, else the customer's latest one."""
    tenant_id, customer = tenant_and_customer(tracker)
    answer = await backend.call("GET", tenant_id, "/v1/orders", customer=customer,
                                params={"mine": "true", "status": "pending_payment",
                                        "page_size": 5})
    if not answer.ok:
        raise BackendUnavailable(f"orders answered {answer.status}")
    orders = answer.body["results"]
    wanted = tracker.get_slot("order_id")
    return next((o for o in orders if str(o["id"]) == wanted), orders[0] if orders else None)


async def start_payment(dispatcher: CollectingDispatcher, tracker: Tracker, method: str,
                        phone: Optional[str] = None) -> List[EventType]:
    tenant_id, customer = tenant_and_customer(tracker)
    order = await pending_order(tracker)
    if order is None:
        dispatcher.utter_message(response="utter_no_order_to_pay")
        return []
    body: Dict[str, Any] = {"method": method}
    if method == "mpesa_stk" and phone:
        body["phone"] = phone  # else the backend asks the customer's own number
    answer = await backend.call("POST", tenant_id, f"/v1/orders/{order['id']}/payments",
                                json=body, customer=customer,
                                idempotency_key=idempotency_key(tracker, f"pay-{method}"))
    if answer.status == 422 and method == "mpesa_stk":
        dispatcher.utter_message(response="utter_invalid_phone")
        return []
    if answer.status in (403, 409, 422) or not answer.ok:
        logger.info("payment refused (%s): %s", answer.status, answer.description)
        dispatcher.utter_message(response="utter_payment_method_unavailable")
        return []
    payment = answer.body
    amount = format_money(payment["amount_minor"], payment["currency"])
    events: List[EventType] = [SlotSet("payment_id", str(payment["id"])),
                               SlotSet("order_id", str(order["id"])),
                               SlotSet("payment_method", "card" if method == "card" else "mpesa"),
                               SlotSet("last_menu", None)]
    if method == "mpesa_stk":
        dispatcher.utter_message(response="utter_stk_sent", amount=amount, order_id=order["id"],
                                 phone=shown_phone(payment.get("phone")))
    elif method == "mpesa_manual":
        how = manual_how(payment.get("instructions") or {}, language(tracker))
        dispatcher.utter_message(response="utter_manual_payment", amount=amount, how=how,
                                 account=(payment.get("instructions") or {}).get("account",
                                                                                  order["id"]))
    else:
        dispatcher.utter_message(response="utter_card_link", amount=amount, order_id=order["id"],
                                 url=payment.get("checkout_url") or "")
    return events


def manual_how(instructions: Dict[str, Any], lang: str) -> str:
    """How to pay by hand: to the merchant's till, else its paybill."""
    if instructions.get("till"):
        return texts.text("payments.manual.till", lang).format(n=instructions["till"])
    return texts.text("payments.manual.paybill", lang).format(n=instructions.get("paybill", ""))


@on_select("payment_methods")
async def _picked_method(dispatcher: CollectingDispatcher, tracker: Tracker,
                         menu: Dict[str, Any], method: Any) -> List[EventType]:
    if method == "mpesa_other":
        dispatcher.utter_message(response="utter_ask_mpesa_number")
        return [SlotSet("current_flow", "mpesa_number")]
    return await start_payment(dispatcher, tracker, str(method))


@on_select("payment_retry")
async def _picked_retry(dispatcher: CollectingDispatcher, tracker: Tracker,
                        menu: Dict[str, Any], choice: Any) -> List[EventType]:
    if choice == "mpesa_stk":
        return await start_payment(dispatcher, tracker, "mpesa_stk",
                                   tracker.get_slot("phone_number"))
    order = await pending_order(tracker)
    if order is None:
        dispatcher.utter_message(response="utter_no_order_to_pay")
        return []
    return await offer_payment(dispatcher, tracker, order, "utter_payment_pending_menu")


class ActionStartPayment(Action):
    """A payment method or an M-Pesa number typed after the order: start that payment."""

    def name(self) -> Text:
        return "action_start_payment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        typed = entity(tracker, "phone_number")
        method = (entity(tracker, "payment_method") or "").lower()
        try:
            if typed or tracker.get_slot("current_flow") == "mpesa_number":
                phone = kenyan_mobile(typed or tracker.latest_message.get("text"))
                if phone is None:
                    dispatcher.utter_message(response="utter_invalid_phone")
                    return []
                events = await start_payment(dispatcher, tracker, "mpesa_stk", phone)
                return [SlotSet("current_flow", None), SlotSet("phone_number", phone), *events]
            if method == "card":
                return await start_payment(dispatcher, tracker, "card")
            return await start_payment(dispatcher, tracker, "mpesa_stk")
        except BackendUnavailable as exc:
            logger.error("payment failed to start: %s", exc)
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []


# What the backend's payment trigger carries (backend/services/payments/notices.py): the
# EXTERNAL_payment_* intent's entities are the payment, so the action needs no call back.
PAYMENT_ENTITIES = {"id": "payment_id", "status": "payment_status",
                    "amount_minor": "payment_amount_minor", "currency": "payment_currency",
                    "order_id": "payment_order_id", "receipt": "payment_receipt",
                    "provider_reference": "payment_provider_reference",
                    "failure_code": "payment_failure_code"}
REQUIRED_PAYMENT_FIELDS = ("id", "status", "amount_minor", "currency", "order_id")


def triggered_payment(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The payment the trigger's entities describe; None when a required field is missing."""
    payment = {field: entity(tracker, name) for field, name in PAYMENT_ENTITIES.items()}
    if any(payment[field] is None for field in REQUIRED_PAYMENT_FIELDS):
        return None
    try:
        payment["amount_minor"] = int(str(payment["amount_minor"]))
    except ValueError:
        return None
    return payment


class ActionPaymentResult(Action):
    """The backend reports a payment's outcome (EXTERNAL_payment_received / _failed)."""

    def name(self) -> Text:
        return "action_payment_result"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        payment = triggered_payment(tracker)
        if payment is None:
            logger.error("payment trigger without the payment's details: %s",
                         [e.get("entity") for e in tracker.latest_message.get("entities") or []])
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        amount = format_money(payment["amount_minor"], payment["currency"])
        if payment["status"] == "succeeded":
            dispatcher.utter_message(response="utter_payment_received", amount=amount,
                                     order_id=payment["order_id"],
                                     receipt=payment.get("receipt") or payment.get(
                                         "provider_reference") or "")
            return [SlotSet("payment_id", str(payment["id"])), SlotSet("last_menu", None)]
        code, lang = str(payment.get("failure_code") or ""), language(tracker)
        reason = (texts.text(f"payments.failures.{code}", lang)
                  if code in texts.table("payments.failures")
                  else texts.text("payments.unknown_failure", lang))
        dispatcher.utter_message(response="utter_payment_failed", order_id=payment["order_id"],
                                 reason=reason)
        return [SlotSet("payment_id", str(payment["id"])),
                SlotSet("order_id", str(payment["order_id"])),
                SlotSet("last_menu", new_menu("payment_retry", ["mpesa_stk", "other"]))]


class ActionPaymentHelp(Action):
    def name(self) -> Text:
        return "action_payment_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_payment_help")
        try:
            order = await pending_order(tracker)
            if order is not None:
                return await offer_payment(dispatcher, tracker, order, "utter_payment_pending_menu")
        except BackendUnavailable as exc:
            logger.error("orders unavailable: %s", exc)
        return []
