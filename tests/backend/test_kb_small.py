"""A merchant-sized knowledge base (one or two phrasings per entry, in one language): phrasings
generated when the index is built, for this tenant only, and an answer confidence that still
answers a paraphrase and still declines what the base does not cover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.kb.phrasings import generated_phrasings
from backend.kb.runtime import runtime
from backend.services.knowledge.kb import import_kb, parse_import
from backend.wiring import Context
from tests.backend.conftest import OTHER_ID, TENANT_ID, service_headers
from tests.backend.kb_helpers import use_kb, wait_for_jobs

# Written for this test the way a merchant types a base: one English phrasing per entry.
SMALL_KB = """
entries:
  - key: hours
    title: Opening hours
    questions: ["Opening hours?"]
    answers:
      en: "We are open Monday to Saturday 8 am to 7 pm and Sunday 10 am to 4 pm."
      sw: "Tuko wazi Jumatatu hadi Jumamosi saa mbili asubuhi hadi saa moja jioni."
  - key: location
    title: Where we are
    questions: ["Where is the shop?"]
    answers:
      en: "We are on Kimathi Street, Nairobi, first floor of Nyaga House."
      sw: "Tuko Kimathi Street, Nairobi, ghorofa ya kwanza ya Nyaga House."
  - key: delivery
    title: Delivery in Nairobi
    questions: ["Do you deliver?"]
    answers:
      en: "We deliver anywhere in Nairobi for KES 300, the same day for orders before 2 pm."
      sw: "Tunaleta popote Nairobi kwa KES 300, siku hiyo hiyo kwa oda kabla ya saa nane."
  - key: payment
    title: How to pay
    questions: ["How do I pay?"]
    answers:
      en: "Pay with M-Pesa till 552211 or cash in the shop."
      sw: "Lipa kwa M-Pesa till 552211 au pesa taslimu dukani."
  - key: returns
    title: Returns
    questions: ["Can I return an item?"]
    answers:
      en: "Unworn items come back within 7 days with the receipt for a full refund."
      sw: "Bidhaa ambayo haijavaliwa inarudishwa ndani ya siku 7 na risiti, pesa yote inarudi."
"""
OTHER_SMALL_KB = """
entries:
  - key: gas
    title: Gas refill
    questions: ["Do you refill gas?"]
    answers:
      en: "We refill 6 kg and 13 kg cylinders every day."
"""
ASSISTANT = service_headers(TENANT_ID)


@pytest.fixture
def small(tenants: Context, tmp_path: Path) -> Context:
    use_kb(tenants, tmp_path)
    import_kb(tenants, TENANT_ID, parse_import(SMALL_KB, "yaml"))
    import_kb(tenants, OTHER_ID, parse_import(OTHER_SMALL_KB, "yaml"))
    wait_for_jobs(tenants)
    return tenants


def ask(client: Any, question: str, language: str) -> dict[str, Any]:
    response = client.post("/v1/faq/answer", json={"question": question, "language": language},
                           headers=ASSISTANT)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_a_title_gives_swahili_and_sheng_ways_of_asking_about_its_topic():
    found = generated_phrasings("Opening hours", ["Opening hours?"])
    assert found[0] == "Opening hours"
    assert any("mnafungua" in text for text in found)  # Swahili
    assert any("mko open" in text for text in found)  # Sheng
    assert generated_phrasings("Zebra crossing", ["Zebra?"]) == ["Zebra crossing"]


def test_generated_phrasings_are_built_into_each_tenants_own_index_only(small):
    kb = runtime(small)
    own, other = kb.index(TENANT_ID), kb.index(OTHER_ID)
    assert own is not None and other is not None
    generated = [item for item in own.items if item.field == "generated"]
    assert {item.text for item in generated} >= {"Opening hours", "Where we are"}
    theirs = {item.text for item in other.items}
    assert not theirs & {item.text for item in generated}  # nothing of this tenant's there
    assert "Gas refill" in theirs and all(item.text != "Gas refill" for item in own.items)


@pytest.mark.parametrize(("question", "language", "title"), [
    ("mnafungua saa ngapi jumamosi?", "sw", "Opening hours"),
    ("mnaclose saa ngapi?", "sheng", "Opening hours"),
    ("nawapataje?", "sw", "Where we are"),
])
def test_swahili_and_sheng_paraphrases_of_english_phrasings_are_answered_right(
        small, client, question, language, title):
    body = ask(client, question, language)
    assert body["answered"], body
    assert body["sources"][0]["title"] == title


def test_an_english_paraphrase_is_answered_from_a_single_phrasing(small, client):
    body = ask(client, "what time do you open on sunday", "en")
    assert body["answered"], body
    assert body["sources"][0]["title"] == "Opening hours"


@pytest.mark.parametrize(("question", "language"), [
    ("who won the football world cup in 2010", "en"),
    ("hali ya hewa itakuwaje kesho mjini", "sw"),
])
def test_what_the_small_base_does_not_cover_is_declined(small, client, question, language):
    body = ask(client, question, language)
    assert not body["answered"] and body["offer_human"], body
