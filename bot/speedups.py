"""Two hot spots of Rasa 3.6 found by profiling the server under `make bench`, removed without
changing behaviour: every action server response is validated with `jsonschema.validate`, which
re-checks the schema itself on each call (a quarter of the server's CPU per turn); and every event
loaded from the tracker store looks its class up by walking all Event subclasses (a tenth)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Optional, Text

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

_event_lookup = Event.resolve_by_type
_event_classes: Dict[Text, type] = {}


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Same checks and error as Rasa's own, with the compiled validator."""
    try:
        action_response_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, make sure your response "
            f"from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions")
        raise e


def resolve_event_type(type_name: Text, default: Optional[type] = None) -> Optional[type]:
    """Rasa's lookup, remembered per type name once it found a class."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _event_lookup(type_name, default)
        if found is not None and found is not default:
            _event_classes[type_name] = found
    return found


def install() -> None:
    """Idempotent; called when the WhatsApp channel is built at server start."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[assignment]
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[assignment]
