"""Pickup or delivery in the order form, turn by turn as Rasa runs it: the form's validation
action gets the slots, answers slot events and the next requested slot; the slot's ask action or
response follows. Against the fake shop (its delivery routes are checked against the backend's
contract)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import delivery
from actions.delivery import ActionAskDeliverySameAddress, ActionAskFulfilment
from actions.orders import (ORDER_FORM_SLOTS, ActionAskOrderConfirmed, ActionOrderStatus,
                            ActionPlaceOrder, ValidateOrderForm)
from tests.actions.fake_shop import REF

pytestmark = pytest.mark.asyncio

DOMAIN = {"forms": {"order_form": {"required_slots": [
    "selected_product", "selected_variant", "quantity", "fulfilment", "delivery_same_address",
    "delivery_place", "order_confirmed"]}}}
ASK = {"fulfilment": ActionAskFulfilment(), "delivery_same_address": ActionAskDeliverySameAddress()}


class Chat:
    """One customer's order form: the slots Rasa keeps, and what each turn said."""

    def __init__(self, language: str = "en", **slots: Any) -> None:
        self.slots: Dict[str, Any] = {"language": language, "tenant_id": "shop",
                                      "requested_slot": None, **slots}
        self.said: List[Dict[str, Any]] = []
        self.turns = 0

    def tracker(self, intent: str, text: str, entities: Optional[List[Dict[str, Any]]] = None,
                location: Optional[Dict[str, Any]] = None, confidence: float = 0.95) -> Tracker:
        self.turns += 1
        meta: Dict[str, Any] = {"phone_hint": "0712 *** 678"}
        if location is not None:
            meta["location"] = location
        return Tracker(sender_id=f"shop:{REF}", slots=dict(self.slots),
                       latest_message={"text": text, "entities": entities or [],
                                       "intent": {"name": intent, "confidence": confidence},
                                       "message_id": f"m{self.turns}", "metadata": meta},
                       events=[], paused=False, followup_action=None,
                       active_loop={"name": "order_form"}, latest_action_name="action_listen")

    def apply(self, events: List[Dict[str, Any]]) -> Dict[str, Any]:
        changed = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        self.slots.update(changed)
        return changed

    async def say(self, intent: str, text: str, **kwargs: Any) -> Dict[str, Any]:
        """The customer's message through the form; then the question it asks next, as Rasa
        would ask it. Answers the slots that changed."""
        dispatcher = CollectingDispatcher()
        changed = self.apply(await ValidateOrderForm().run(
            dispatcher, self.tracker(intent, text, **kwargs), DOMAIN))
        self.said = list(dispatcher.messages)
        if "requested_slot" not in changed:
            # The SDK leaves the choice to Rasa when its list is the domain's: Rasa asks for the
            # domain's first empty slot.
            self.slots["requested_slot"] = next(
                (name for name in DOMAIN["forms"]["order_form"]["required_slots"]
                 if self.slots.get(name) is None), None)
        requested = self.slots.get("requested_slot")
        if requested in ASK:
            ask = CollectingDispatcher()
            self.apply(await ASK[requested].run(ask, self.tracker(intent, text), DOMAIN))
            self.said += ask.messages
        elif requested:
            self.said.append({"response": f"utter_ask_{requested}"})
        return changed

    async def run(self, action: Any) -> List[Dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        self.apply(await action.run(dispatcher, self.tracker("affirm", "yes"), DOMAIN))
        return dispatcher.messages


def responses(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("response") for m in messages]


def sneakers(language: str = "en") -> Chat:
    """A customer who chose one pair of canvas sneakers (KES 2,500)."""
    return Chat(language, selected_product="11", selected_variant="110", quantity=1.0)


def order_request(shop) -> Dict[str, Any]:
    return [r for r in shop.requests if r["path"] == "/v1/orders" and r["method"] == "POST"][-1][
        "json"]


async def test_delivery_to_a_typed_place_with_someone_elses_number(shop):
    shop.delivery.update(offers_delivery=True)
    chat = sneakers()
    await chat.say("place_order", "i want to buy canvas sneakers")
    assert chat.slots["requested_slot"] == "fulfilment"
    assert responses(chat.said) == ["utter_ask_fulfilment"]
    assert chat.slots["last_menu"]["kind"] == "fulfilment"
    await chat.say("select_option", "2", entities=[{"entity": "option", "value": "2"}])
    assert chat.slots["fulfilment"] == "delivery"
    assert chat.slots["requested_slot"] == "delivery_place"
    await chat.say("inform", "Mwiki, near the stage. My brother receives: 0722 000 111")
    assert chat.slots["delivery_place"] == {
        "address": "Mwiki, near the stage. My brother receives", "latitude": None,
        "longitude": None, "recipient_phone": "0722000111"}
    assert chat.slots["delivery_quote"]["zone"]["name"] == "Kasarani"
    assert chat.slots["requested_slot"] == "order_confirmed"

    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["lines"].splitlines() == [
        "1 × Canvas sneakers (40) — KES 2,500", "Delivery (Kasarani): KES 200, expected same day"]
    assert summary[0]["total"] == "KES 2,700"

    chat.slots["order_confirmed"] = True
    placed = await chat.run(ActionPlaceOrder())
    assert placed[0]["response"] == "utter_order_placed" and placed[0]["total"] == "KES 2,700"
    assert order_request(shop) == {"fulfilment": "delivery", "delivery": {
        "address": "Mwiki, near the stage. My brother receives", "latitude": None,
        "longitude": None, "recipient_phone": "0722000111"}}
    assert [line["kind"] for line in shop.orders[-1]["lines"]] == ["product", "delivery"]
    # The next order starts afresh: nothing of this one's delivery is kept in the slots.
    assert all(chat.slots.get(name) is None for name in ORDER_FORM_SLOTS)


async def test_same_address_as_last_time_in_swahili(shop):
    shop.delivery.update(offers_delivery=True, last_delivery={
        "address": "Kasarani, Mwiki road", "latitude": None, "longitude": None,
        "recipient_phone": None})
    chat = sneakers("sw")
    await chat.say("place_order", "nataka hizi")
    await chat.say("inform", "niletee nyumbani")
    assert chat.slots["fulfilment"] == "delivery"
    assert chat.slots["requested_slot"] == "delivery_same_address"
    assert responses(chat.said) == ["utter_ask_delivery_same_address"]
    assert chat.said[0]["place"] == "Kasarani, Mwiki road"
    await chat.say("affirm", "ndiyo")
    assert chat.slots["delivery_place"]["same_as_last"] is True
    assert chat.slots["requested_slot"] == "order_confirmed"
    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["lines"].splitlines()[-1] == "Kuletewa (Kasarani): KES 200, inatarajiwa same day"
    chat.slots["order_confirmed"] = True
    await chat.run(ActionPlaceOrder())
    assert order_request(shop) == {"fulfilment": "delivery", "delivery": {"same_as_last": True}}


async def test_a_new_place_instead_of_the_last_one(shop):
    shop.delivery.update(offers_delivery=True, last_delivery={
        "address": "Kasarani", "latitude": None, "longitude": None, "recipient_phone": None})
    chat = sneakers("sheng")
    await chat.say("place_order", "nataka hizi")
    await chat.say("select_option", "2", entities=[{"entity": "option", "value": "2"}])
    await chat.say("deny", "hapana")
    assert chat.slots["delivery_same_address"] is False
    assert chat.slots["requested_slot"] == "delivery_place"
    assert responses(chat.said) == ["utter_ask_delivery_place"]


async def test_a_location_pin_near_the_shop(shop):
    shop.delivery.update(offers_delivery=True)
    chat = sneakers()
    await chat.say("place_order", "buy")
    await chat.say("select_option", "2", entities=[{"entity": "option", "value": "2"}])
    await chat.say("nlu_fallback", "\N{ROUND PUSHPIN} Naivas Thika Road", location={
        "latitude": -1.2250, "longitude": 36.8920, "label": "Naivas Thika Road", "address": None})
    assert chat.slots["delivery_place"] == {"address": "Naivas Thika Road",
                                            "latitude": -1.225, "longitude": 36.892}
    assert chat.slots["delivery_quote"]["zone"]["name"] == "Near the shop"
    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["total"] == "KES 2,600"


async def test_outside_every_zone_the_customer_can_pick_up_instead(shop):
    shop.delivery.update(offers_delivery=True)
    chat = sneakers("sw")
    await chat.say("place_order", "nataka hizi")
    await chat.say("select_option", "2", entities=[{"entity": "option", "value": "2"}])
    await chat.say("inform", "Mombasa, Nyali")
    assert chat.slots.get("delivery_place") is None
    assert responses(chat.said) == ["utter_delivery_outside_zones_pickup",
                                    "utter_ask_delivery_place"]
    assert chat.said[0]["place"] == "Mombasa, Nyali"
    assert chat.slots["requested_slot"] == "delivery_place"
    # A pin far away: the same.
    await chat.say("nlu_fallback", "\N{ROUND PUSHPIN}", location={
        "latitude": -4.04, "longitude": 39.67, "label": None, "address": None})
    assert chat.slots.get("delivery_place") is None
    await chat.say("inform", "sawa nitakuja kuchukua")
    assert chat.slots["fulfilment"] == "pickup"
    assert chat.slots["requested_slot"] == "order_confirmed"
    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["lines"].splitlines()[-1] == "Utachukua dukani"
    assert summary[0]["total"] == "KES 2,500"
    chat.slots["order_confirmed"] = True
    await chat.run(ActionPlaceOrder())
    assert order_request(shop) == {"fulfilment": "pickup"}


async def test_outside_every_zone_when_the_shop_calls_instead(shop):
    shop.delivery.update(offers_delivery=True, offers_pickup=False, fallback="call_customer")
    chat = sneakers()
    await chat.say("place_order", "buy")
    # Delivery is the only way: nothing to choose.
    assert chat.slots["fulfilment"] == "delivery"
    assert chat.slots["requested_slot"] == "delivery_place"
    await chat.say("inform", "Kitengela, behind the mall")
    assert chat.slots["delivery_place"]["address"] == "Kitengela, behind the mall"
    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["lines"].splitlines()[-1] == "Delivery: we'll call you to agree the fee"
    assert summary[0]["total"] == "KES 2,500"


async def test_a_question_while_asked_for_the_place_is_left_to_the_rules(shop):
    shop.delivery.update(offers_delivery=True)
    chat = sneakers("sw")
    await chat.say("place_order", "nataka hizi")
    await chat.say("select_option", "2", entities=[{"entity": "option", "value": "2"}])
    changed = await chat.say("delivery_fees", "delivery ni ngapi?")
    assert "delivery_place" not in changed  # nothing extracted: the form rejects, a rule answers
    # The same intent, but the words name a place the shop covers: a place.
    await chat.say("delivery_fees", "niletee Kasarani")
    assert chat.slots["delivery_place"]["address"] == "niletee Kasarani"


async def test_free_delivery_above_the_zones_amount(shop):
    shop.delivery.update(offers_delivery=True)
    chat = Chat("en", selected_product="12", selected_variant="120", quantity=3.0)
    await chat.say("place_order", "buy")
    await chat.say("inform", "deliver please")
    await chat.say("inform", "Kasarani")
    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["lines"].splitlines()[-1] == "Delivery (Kasarani): free, expected same day"
    assert summary[0]["total"] == "KES 13,500"


async def test_a_shop_without_delivery_asks_nothing_more(shop):
    chat = sneakers()
    await chat.say("place_order", "buy")
    assert chat.slots["requested_slot"] == "order_confirmed"
    summary = await chat.run(ActionAskOrderConfirmed())
    assert summary[0]["lines"].splitlines() == ["1 × Canvas sneakers (40) — KES 2,500"]
    chat.slots["order_confirmed"] = True
    await chat.run(ActionPlaceOrder())
    assert order_request(shop) == {}


async def test_the_backend_down_takes_the_order_without_asking(shop):
    shop.fail["/internal/v1/delivery"] = 503
    chat = sneakers()
    await chat.say("place_order", "buy")
    assert chat.slots.get("delivery_options") is None
    assert chat.slots["requested_slot"] == "order_confirmed"


async def test_zones_changed_since_the_quote(shop):
    shop.delivery.update(offers_delivery=True)
    chat = sneakers()
    await chat.say("place_order", "buy")
    await chat.say("inform", "delivery")
    await chat.say("inform", "Mwiki")
    shop.zones = []  # the merchant removed the zone meanwhile
    chat.slots["order_confirmed"] = True
    placed = await chat.run(ActionPlaceOrder())
    assert responses(placed) == ["utter_delivery_refused"]
    assert not shop.orders


@pytest.mark.parametrize("text, chosen", [
    ("pick up", "pickup"), ("I'll come for it", "pickup"), ("nitakuja kuchukua", "pickup"),
    ("nitachukua dukani", "pickup"), ("nitakam kuchukua", "pickup"), ("deliver it", "delivery"),
    ("niletee", "delivery"), ("tuletee nyumbani", "delivery"), ("delivery please", "delivery"),
    ("ipeleke kwa ofisi", "delivery"), ("sijui", None), ("pick up or deliver?", None)])
async def test_words_that_choose(text, chosen):
    assert delivery.choice_in(text) == chosen


async def test_order_status_names_the_courier_and_tracking(shop):
    shop.cart.append({**shop.variant(110), "variant_id": 110, "quantity": 1})
    chat = Chat("sw", selected_product="cart", order_confirmed=True)
    await chat.run(ActionPlaceOrder())
    shop.orders[-1].update(status="fulfilled", courier="Sendy", tracking="SND-4411")
    dispatcher = CollectingDispatcher()
    await ActionOrderStatus().run(dispatcher, chat.tracker("check_order_status", "oda yangu?"), {})
    assert dispatcher.messages[0]["status"] == (
        "iko njiani. Msafirishaji: Sendy, namba ya ufuatiliaji SND-4411")
