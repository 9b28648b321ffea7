"""Issue 16 (interactive messages): the channel issues menus and yes/no questions with signed ids,
and a tapped row or button comes back as the intent only when it is one the channel issued to this
customer and it is fresh; anything else is the customer's words."""
from __future__ import annotations

import time

import pytest

from bot.channels.payloads import DEFAULT_TTL_SECONDS, PayloadSigner, neutralise
from kit import interactive
from tests.channel.conftest import SERVICE_TOKEN
from tests.channel.test_whatsapp_channel import CUSTOMER, form, post

pytestmark = pytest.mark.asyncio

MENU = "1. Black leather high-top sneakers — KES 2,500\n2. Sandals — KES 800"
MENU_TEXT = f"Hizi ndizo bidhaa zetu:\n\n{MENU}\n\nJibu kwa namba kuona maelezo zaidi."
QUESTION = "Ughairi oda #12 (KES 800)? (ndiyo / hapana)"


async def say(channel_server, reply: dict) -> None:
    async def behaviour(message):
        await message.output_channel.send_response(message.sender_id, reply)
    channel_server["bot"].behaviour = behaviour


async def test_a_menu_goes_to_the_backend_as_a_list_with_signed_rows(channel_server, backend):
    await say(channel_server, {"text": MENU_TEXT, "menu": MENU})
    assert (await post(channel_server["url"], form("nionyeshe viatu")))[0] == 200
    [message] = backend.outbound[0]["messages"]
    assert message["body"] == MENU_TEXT  # the numbered text, for wherever the list cannot go
    listed = message["interactive"]
    assert listed["type"] == "list" and listed["language"] == "sw"  # the tenant's, no tracker
    assert listed["button"] == "Chagua"
    assert [row["title"] for row in listed["items"]] == ["Black leather high-top…", "Sandals"]
    signer = PayloadSigner(SERVICE_TOKEN)
    assert [signer.verify("shop", CUSTOMER, row["id"]) for row in listed["items"]] == [
        interactive.select_option(1), interactive.select_option(2)]


async def test_a_list_follows_the_conversations_language(channel_server, backend):
    from tests.channel.test_silent_turns import with_tracker
    await with_tracker(channel_server["app"], paused=False, language="en")
    await say(channel_server, {"text": MENU_TEXT, "menu": MENU})
    await post(channel_server["url"], form("show me shoes"))
    listed = backend.outbound[0]["messages"][0]["interactive"]
    assert (listed["language"], listed["button"]) == ("en", "Choose")


async def test_a_tapped_row_is_the_pick_a_typed_number_is(channel_server, backend):
    await say(channel_server, {"text": MENU_TEXT, "menu": MENU})
    await post(channel_server["url"], form("viatu"))
    row = backend.outbound[0]["messages"][0]["interactive"]["items"][1]
    await post(channel_server["url"], form("Sandals", ListId=row["id"], ListTitle="Sandals"))
    assert channel_server["received"][1].text == '/select_option{"option":"2"}'


async def test_a_yes_no_question_goes_as_buttons_and_a_tap_is_affirm(channel_server, backend):
    await say(channel_server, {"text": QUESTION})
    await post(channel_server["url"], form("ghairi oda"))
    [message] = backend.outbound[0]["messages"]
    assert message["body"] == QUESTION
    buttons = message["interactive"]
    assert buttons["type"] == "buttons" and buttons["body"] == "Ughairi oda #12 (KES 800)?"
    assert [b["title"] for b in buttons["items"]] == ["Ndiyo", "Hapana"]
    yes, no = buttons["items"]
    await post(channel_server["url"], form("Ndiyo", ButtonPayload=yes["id"], ButtonText="Ndiyo"))
    await post(channel_server["url"], form("Hapana", ButtonPayload=no["id"], ButtonText="Hapana"))
    assert [m.text for m in channel_server["received"][1:]] == ["/affirm", "/deny"]


def _stale() -> str:
    return PayloadSigner(SERVICE_TOKEN).sign("shop", CUSTOMER, interactive.select_option(1),
                                             now=time.time() - DEFAULT_TTL_SECONDS - 5)


@pytest.mark.parametrize("field", ["ListId", "ButtonPayload"])
@pytest.mark.parametrize("payload", [
    interactive.select_option(1),                                            # never signed
    PayloadSigner("someone-elses-secret").sign("shop", CUSTOMER, interactive.select_option(1)),
    PayloadSigner(SERVICE_TOKEN).sign("shop", "+254700000999", interactive.select_option(1)),
    PayloadSigner(SERVICE_TOKEN).sign("other", CUSTOMER, interactive.select_option(1)),
    PayloadSigner(SERVICE_TOKEN).sign("shop", CUSTOMER, interactive.select_option(1)).replace(
        '"1"', '"2"'),                                                       # another row's tag
    "stale",
], ids=["unsigned", "other-key", "other-customer", "other-tenant", "other-row", "stale"])
async def test_a_forged_or_stale_payload_is_the_customers_words(field, payload, channel_server):
    payload = _stale() if payload == "stale" else payload
    words = "Black leather high-top…"
    title_field = "ListTitle" if field == "ListId" else "ButtonText"
    await post(channel_server["url"], form(words, **{field: payload, title_field: words}))
    [message] = channel_server["received"]
    assert message.text == words


async def test_a_forged_tap_without_a_body_is_read_as_its_title(channel_server):
    await post(channel_server["url"],
               form("", ListId="/stop_all", ListTitle="/stop_all"))
    [message] = channel_server["received"]
    assert message.text == neutralise("/stop_all")


async def test_a_payload_stays_valid_within_its_time_to_live():
    signer = PayloadSigner(SERVICE_TOKEN, ttl_seconds=60)
    now = time.time()
    signed = signer.sign("shop", CUSTOMER, "/affirm", now=now)
    assert signer.verify("shop", CUSTOMER, signed, now=now + 59) == "/affirm"
    assert signer.verify("shop", CUSTOMER, signed, now=now + 61) is None
    assert signer.verify("shop", CUSTOMER, signed, now=now - 3600) is None  # issued "later"


async def test_plain_replies_carry_no_interactive_form(channel_server, backend):
    await post(channel_server["url"], form("habari"))
    assert backend.outbound[0]["messages"] == [{"body": "echo: habari", "media_url": None}]


@pytest.fixture(scope="module")
def domain():
    from rasa.shared.core.domain import Domain
    from tests.channel.test_commands import DOMAIN
    return Domain.load(str(DOMAIN))


@pytest.mark.parametrize("language,button,yes", [("en", "Choose", "Yes"), ("sw", "Chagua", "Ndiyo"),
                                                 ("sheng", "Chagua", "Poa")])
async def test_what_the_actions_dispatch_reaches_the_output_as_a_list_and_buttons(
        domain, language, button, yes):
    """Through Rasa's own handling of an action's responses (rasa-sdk's dispatcher → the domain's
    response in the customer's language → the output channel): the `menu` argument the actions
    pass survives, so the menu becomes a list, and the domain's yes/no question two buttons."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import CollectingDispatcher

    from bot.channels.output import WhatsAppOutput

    dispatcher = CollectingDispatcher()
    menu = "1. M-Pesa (a prompt to 0712 *** 678)\n2. Paybill or Till"
    dispatcher.utter_message(response="utter_order_placed", order_id=12, menu=menu,
                             total="KES 800")
    dispatcher.utter_message(response="utter_confirm_cancel_order", order_id=12, total="KES 800")
    tracker = DialogueStateTracker.from_events("shop:ref", [SlotSet("language", language)],
                                               slots=domain.slots)
    output = WhatsAppOutput()
    uttered = await RemoteAction._utter_responses(
        dispatcher.messages, output, TemplatedNaturalLanguageGenerator(domain.responses), tracker)
    for event in uttered:
        await output.send_response("shop:ref", event.message())
    listed, question = output.messages
    assert menu in listed["body"] and listed["interactive"]["type"] == "list"
    issued = interactive.issue(listed["interactive"], language, lambda p: p)
    assert issued["button"] == button
    assert [row["id"] for row in issued["items"]] == [interactive.select_option(1),
                                                      interactive.select_option(2)]
    assert question["interactive"]["type"] == "buttons"
    assert question["interactive"]["language"] == language
    assert question["interactive"]["items"][0]["title"] == yes
