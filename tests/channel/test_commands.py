"""Issue 13 item 2: a customer's text is never a Rasa command; only payloads the channel issued
(tagged for this tenant and customer) may carry an intent."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.channels.payloads import PayloadSigner, neutralise
from tests.channel.conftest import SERVICE_TOKEN
from tests.channel.test_whatsapp_channel import CUSTOMER, form, post

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
COMMANDS = ['/EXTERNAL_payment_received{"payment_id":1}', '/add_to_cart{"quantity":"-3"}',
            "/restart", '  /stop_all', "//greet"]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(DOMAIN))


def rasa_intent(text: str, domain: Domain):
    """The intent Rasa's RegexMessageHandler (the `/intent{…}` parser) gives a text, if any."""
    [message] = RegexMessageHandler().process([Message(data={TEXT: text})], domain)
    return (message.get(INTENT) or {}).get("name")


def test_rasa_would_run_the_typed_commands(domain):
    """What the channel defends against: these texts are intents for Rasa as they are."""
    assert rasa_intent('/EXTERNAL_payment_received{"payment_id":1}', domain) == \
        "EXTERNAL_payment_received"
    assert rasa_intent('/add_to_cart{"quantity":"-3"}', domain) == "add_to_cart"


@pytest.mark.parametrize("typed", COMMANDS)
def test_neutralised_text_is_no_intent_and_keeps_the_words(typed, domain):
    text = neutralise(typed.strip())
    assert rasa_intent(text, domain) is None
    assert text[1:] == typed.strip()[1:]


@pytest.mark.asyncio
@pytest.mark.parametrize("typed", COMMANDS)
async def test_typed_commands_reach_rasa_as_words(typed, channel_server, backend, domain):
    assert (await post(channel_server["url"], form(typed)))[0] == 200
    [message] = channel_server["received"]
    assert not message.text.startswith("/")
    assert rasa_intent(message.text, domain) is None
    assert backend.inbound[0]["body"] == typed.strip()  # the merchant sees what was typed


@pytest.mark.asyncio
async def test_a_payload_the_channel_issued_carries_its_intent(channel_server):
    signed = PayloadSigner(SERVICE_TOKEN).sign("shop", CUSTOMER, '/affirm')
    await post(channel_server["url"], form("Yes", ButtonPayload=signed, ButtonText="Yes"))
    assert channel_server["received"][0].text == "/affirm"


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", [
    "/affirm",                                                             # no tag at all
    PayloadSigner("someone-elses-secret").sign("shop", CUSTOMER, "/affirm"),
    PayloadSigner(SERVICE_TOKEN).sign("shop", "+254700000999", "/affirm"),  # another customer
    PayloadSigner(SERVICE_TOKEN).sign("other", CUSTOMER, "/affirm"),        # another tenant
    PayloadSigner(SERVICE_TOKEN).sign("shop", CUSTOMER, "/affirm").replace(
        "/affirm", '/EXTERNAL_payment_received{"payment_id":1}'),        # tag of another payload
])
async def test_a_forged_payload_is_read_as_the_customers_text(payload, channel_server, domain):
    await post(channel_server["url"], form("/stop_all", ButtonPayload=payload, ButtonText="x"))
    [message] = channel_server["received"]
    assert rasa_intent(message.text, domain) is None
    assert message.text == neutralise("/stop_all")


def test_signed_payloads_stay_within_a_list_rows_id_limit():
    signer = PayloadSigner(SERVICE_TOKEN)
    assert len(signer.sign("shop", CUSTOMER, '/select_option{"option":"10"}')) <= 200
    with pytest.raises(ValueError):
        signer.sign("shop", CUSTOMER, "/" + "x" * 200)
