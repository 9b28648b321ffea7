"""PUT /webhooks/whatsapp/responses (bot/channels/responses.py): make reload's path for an edit of
response texts only. On the project's real domain, with Rasa's own Domain and response generator:
only the server's token may call it, a new text is what the next utterance says (and what
GET /domain shows), and a change of response names or a malformed body changes nothing."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Tuple

import aiohttp
import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "rasa-server-token"


class ServedAgent:
    """What the channel reads of rasa's Agent: the served domain, its generator, readiness."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.nlg = TemplatedNaturalLanguageGenerator(domain.responses)

    def is_ready(self) -> bool:
        return True


async def put(url: str, body: Any, token: str = TOKEN) -> Tuple[int, Dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.put(url.rsplit("/", 1)[0] + "/responses", json=body,
                               headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status, await response.json()


async def goodbye(agent: ServedAgent, language: str) -> str:
    tracker = DialogueStateTracker.from_events("c1", [SlotSet("language", language)],
                                               slots=agent.domain.slots)
    return (await agent.nlg.generate("utter_goodbye", tracker, "whatsapp"))["text"]


async def test_a_new_response_text_is_served_at_once(channel_server, monkeypatch):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    domain = Domain.load(str(ROOT / "domain"))
    agent = ServedAgent(domain)
    channel_server["app"].ctx.agent = agent
    url = channel_server["url"]
    english_before, swahili_before = await goodbye(agent, "en"), await goodbye(agent, "sw")

    edited = copy.deepcopy(domain.as_dict()["responses"])
    edited["utter_goodbye"] = [
        {**v, "text": "Tutaonana! 👋 Karibu tena."} if v.get("condition") and
        v["condition"][0]["value"] == "sw" else v for v in edited["utter_goodbye"]]
    assert edited != domain.as_dict()["responses"]

    assert (await put(url, {"responses": edited}, token="someone-else"))[0] == 401
    assert await goodbye(agent, "sw") == swahili_before

    status, body = await put(url, {"responses": edited})
    assert (status, body) == (200, {"responses": len(edited), "changed": 1})
    assert await goodbye(agent, "sw") == "Tutaonana! 👋 Karibu tena."
    assert await goodbye(agent, "en") == english_before
    assert domain.as_dict()["responses"]["utter_goodbye"] == edited["utter_goodbye"]


@pytest.mark.parametrize("body, status", [
    ({"responses": {}}, 400),
    ({"responses": {"utter_goodbye": "Bye"}}, 400),
    ({"responses": {"utter_goodbye": []}}, 400),
    ("not an object", 400),
    ({}, 400),
])
async def test_a_malformed_body_changes_nothing(channel_server, monkeypatch, body, status):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    domain = Domain.load(str(ROOT / "domain"))
    before = copy.deepcopy(domain.responses)
    channel_server["app"].ctx.agent = ServedAgent(domain)
    answer, error = await put(channel_server["url"], body)
    assert answer == status and error["code"] == status
    assert domain.responses == before


async def test_a_response_added_or_removed_needs_the_model_retrained(channel_server, monkeypatch):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    domain = Domain.load(str(ROOT / "domain"))
    before = copy.deepcopy(domain.responses)
    channel_server["app"].ctx.agent = ServedAgent(domain)
    added = {**before, "utter_brand_new": [{"text": "New!"}]}
    removed = {k: v for k, v in before.items() if k != "utter_goodbye"}
    for responses in (added, removed):
        status, error = await put(channel_server["url"], {"responses": responses})
        assert status == 409 and "retrained" in error["description"]
    assert domain.responses == before


async def test_no_token_configured_refuses_everyone(channel_server, monkeypatch):
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    domain = Domain.load(str(ROOT / "domain"))
    channel_server["app"].ctx.agent = ServedAgent(domain)
    status, _ = await put(channel_server["url"], {"responses": domain.as_dict()["responses"]},
                          token="")
    assert status == 401
