"""A few consent messages through the trained model (models/assistant.tar.gz, with
bot.components.consent_scope in its pipeline): a negation never opts in, promotions only never
stops or starts everything, and what the reader found reaches the actions as `consent_check`."""
from __future__ import annotations

import asyncio

import pytest

from tests.trained_model import MODEL, trained_agent

IN = {"opt_in_promotions", "start_all"}
ALL = {"stop_all", "start_all"}


@pytest.fixture(scope="module")
def parse():
    agent = trained_agent()
    loop = asyncio.new_event_loop()
    nodes = agent.processor.model_metadata.predict_schema.nodes.values()
    if not any(node.uses.__name__ == "ConsentScopeReader" for node in nodes):
        pytest.fail(f"{MODEL} was trained before the consent reader: run scripts/train.sh")
    yield lambda text: loop.run_until_complete(agent.parse_message(text))
    loop.close()


# (message, the intents it must never be served as: an opt-in or START for a negation, STOP or
# START for promotions only)
CASES = [
    ("i don't want marketing messages", IN | ALL),
    ("please don't send me any more deals", IN | ALL),
    ("sitaki matangazo yenu tena", IN | ALL),
    ("sipendi kupokea ofa zenu", IN | ALL),
    ("msinitumie promo zenu", IN | ALL),
    ("sidai ads zenu msee", IN | ALL),
    ("usinitumie chochote tena", IN),
    ("nataka kupokea ofa zenu tena", ALL),
    ("send me your deals again", ALL),
]


@pytest.mark.parametrize("text, forbidden", CASES)
def test_consent_through_the_model(parse, text, forbidden):
    result = parse(text)
    assert result["intent"]["name"] not in forbidden, result["intent"]


def test_stop_is_stop_all_and_the_reading_reaches_the_parse_data(parse):
    result = parse("STOP")
    assert result["intent"]["name"] == "stop_all"
    assert result["consent_check"]["explicit"] is True
    assert result["consent_check"]["intent"] == "stop_all"
    assert result["intent"]["confidence"] >= 0.7
