"""The simulator's pure parts: the debug view read from a tracker and the test-story writer,
on the tracker Rasa recorded for a real simulator conversation (tests/backend/data/
simulator_tracker.json: greet, browse, tap a product, add to cart, tap a variant, order through
the form, tap M-Pesa, the payment approved on the simulated phone (an EXTERNAL_ intent the
backend triggered), greet again); and the roles that may use it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.domain.permissions import BUILT_IN_ROLES
from backend.sandbox.simulator.debug import effective_events, turns
from backend.sandbox.simulator.stories import NothingToSave, file_name, story_steps, story_yaml

TRACKER = Path(__file__).parent / "data" / "simulator_tracker.json"


@pytest.fixture()
def tracker() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TRACKER.read_text(encoding="utf-8"))
    return loaded


def test_every_customer_message_is_a_turn_with_what_the_nlu_decided(
        tracker: dict[str, Any]) -> None:
    found = turns(tracker)
    assert [t.intent for t in found] == [
        "greet", "browse_products", "select_option", "add_to_cart", "select_option",
        "place_order", "affirm", "select_option", "EXTERNAL_payment_received", "greet"]
    first = found[0]
    assert first.text == "hi" and not first.tapped and first.language == "en"
    assert first.confidence is not None and 0.5 < first.confidence <= 1
    assert 1 < len(first.ranking) <= 5
    assert first.ranking[0]["name"] == "greet"
    confidences = [r["confidence"] for r in first.ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert [(e.entity, e.extractor) for e in first.entities] == [("language", "LanguageDetector")]
    assert [a.name for a in first.actions] == ["utter_greet"]
    assert first.actions[0].policy == "RulePolicy"
    assert first.actions[0].responses[0]["template"] == "utter_greet"
    assert first.duration_ms is not None and first.duration_ms >= 0


def test_taps_forms_slots_and_timings(tracker: dict[str, Any]) -> None:
    found = turns(tracker)
    tap = found[2]
    assert tap.tapped and tap.text.startswith("/select_option")
    assert [(e.entity, e.value) for e in tap.entities if e.entity == "option"] == [("option", "1")]
    assert tap.slots_changed["selected_product"] == "1"
    order = found[5]
    assert order.active_form == "order_form" and order.requested_slot == "order_confirmed"
    confirmed = found[6]
    assert confirmed.active_form is None and confirmed.requested_slot is None
    assert [a.name for a in confirmed.actions] == ["order_form", "action_place_order"]
    assert confirmed.slots_changed["order_confirmed"] is None  # set, then cleared by the order
    assert "order_id" in confirmed.slots_changed
    for turn in found:
        assert all(a.duration_ms is not None and a.duration_ms >= 0 for a in turn.actions)
        assert "action_listen" not in [a.name for a in turn.actions]
    # A slot set to the value it already had is not a change.
    assert "language" not in found[-1].slots_changed


def test_each_turn_carries_the_request_id_its_backend_calls_are_kept_under(
        tracker: dict[str, Any]) -> None:
    found = turns(tracker)
    ids = [t.request_id for t in found]
    assert ids[1] == "1575bd98d0bd46a48d9a919389a6673d"  # "what do you sell?"
    assert all(i and len(i) == 32 for i in ids[:8]) and len(set(ids[:8])) == 8
    assert found[8].request_id is None  # the backend's EXTERNAL_ intent: no customer message
    assert all(t.backend_calls == [] for t in found)  # the page adds them (call_log)
    odd = {"events": [{"event": "user", "text": "hi", "metadata": ["not", "a", "dict"]}]}
    assert turns(odd)[0].request_id is None


def test_a_rewind_takes_back_the_last_customer_message(tracker: dict[str, Any]) -> None:
    rewound = {**tracker, "events": tracker["events"] + [{"event": "rewind"}]}
    assert len(turns(rewound)) == len(turns(tracker)) - 1
    events = effective_events(rewound["events"])
    assert events[-1]["event"] != "user"
    assert [e.get("text") for e in events if e["event"] == "user"][-1].startswith("EXTERNAL")
    restarted = {**tracker, "events": tracker["events"] + [{"event": "restart"}]}
    assert turns(restarted) == []


def test_the_story_has_the_turns_actions_slots_and_forms(tracker: dict[str, Any]) -> None:
    steps = story_steps(tracker, "en")
    assert steps[0] == {"slot_was_set": [{"language": "en"}]}
    assert {"user": "hi", "intent": "greet"} in steps
    assert {"intent": "select_option", "entities": [{"option": "1"}]} in steps
    [paid] = [s for s in steps if s.get("intent") == "EXTERNAL_payment_received"]
    assert {"payment_status": "succeeded"} in paid["entities"] and "user" not in paid
    actions = [s["action"] for s in steps if "action" in s]
    assert actions[:3] == ["utter_greet", "action_show_products", "action_select_option"]
    assert "action_listen" not in actions and "action_session_start" not in actions
    order = steps.index({"action": "order_form"})
    assert steps[order + 1] == {"active_loop": "order_form"}
    assert {"active_loop": None} in steps
    assert all("language" not in json.dumps(s.get("entities", [])) for s in steps)
    # No step before the first customer message but the language.
    assert "user" in steps[1] or "intent" in steps[1]


def test_story_yaml_is_a_stories_file_rasa_reads(tracker: dict[str, Any]) -> None:
    text = story_yaml(tracker, "order and pay", "en")
    document = yaml.safe_load(text)
    assert document["version"] == "3.1"
    [story] = document["stories"]
    assert story["story"] == "order and pay (en)"
    assert story["steps"] == story_steps(tracker, "en")
    assert file_name("Order & pay!", "sw") == "simulator_order_pay_sw.yml"
    assert file_name("", None) == "simulator_conversation_xx.yml"


def test_entities_are_annotated_in_the_words() -> None:
    tracker = {"events": [{"event": "user", "text": "nataka ya pili size 42", "parse_data": {
        "intent": {"name": "select_option", "confidence": 0.9},
        "entities": [
            {"entity": "option", "value": "2", "start": 7, "end": 14, "extractor": "RuleExtractor"},
            {"entity": "size", "value": "42", "start": 20, "end": 22, "extractor": "DIET"},
            {"entity": "language", "value": "sw", "start": 22, "end": 22,
             "extractor": "LanguageDetector"}]}},
        {"event": "action", "name": "action_select_option"}]}
    [_, user, action] = story_steps(tracker, "sw")
    assert user == {"user": 'nataka [ya pili]{"entity": "option", "value": "2"} size [42](size)',
                    "intent": "select_option"}
    assert action == {"action": "action_select_option"}


def test_nothing_to_save_before_the_first_message() -> None:
    with pytest.raises(NothingToSave):
        story_steps({"events": [{"event": "action", "name": "action_listen"}]}, "en")


def test_designers_may_simulate_and_the_data_team_reads() -> None:
    assert "simulator:use" in BUILT_IN_ROLES["designer"]
    assert "simulator:use" in BUILT_IN_ROLES["owner"] and "simulator:use" in BUILT_IN_ROLES["admin"]
    for role in ("finance", "catalog_manager", "support_agent", "viewer", "data"):
        assert "simulator:use" not in BUILT_IN_ROLES[role]
    # The data team reads, and reviews the NLU (the review loop's one write).
    assert all(scope.endswith(":read") for scope in BUILT_IN_ROLES["data"] - {"nlu:review"})
    assert {"conversations:read", "analytics:read"} <= BUILT_IN_ROLES["data"]
