"""The compiled action-response validator accepts and rejects exactly what Rasa's own does."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import speedups

GOOD = {"events": [{"event": "slot", "name": "x", "value": 1}],
        "responses": [{"response": "utter_greet"}]}
BAD = {"events": [{"no_event_key": True}], "responses": []}


def test_installed_validator_accepts_and_rejects_like_rasa():
    speedups.install()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(GOOD) is True
    with pytest.raises(ValidationError) as error:
        action._validate_action_result(BAD)
    assert "Failed to validate Action server response" in error.value.message


def test_event_lookup_is_unchanged():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    speedups.install()
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    restored = Event.from_parameters({"event": "slot", "name": "language", "value": "sw"})
    assert restored == SlotSet("language", "sw")
