"""What the simulator's debug view shows for each turn, read from Rasa's tracker
(GET /conversations/<sender>/tracker): the message's detected language, intent with confidence and
the top 5 ranking, entities with their extractor, the intent blend's parts when the NLU put them
into the parse data, the slots the turn changed, the active form and its requested slot, and the
actions run with their policy and timing (and the responses each sent), and the turn's request id
(the channel's, in the message's metadata) under which the backend kept the calls the turn made
(backend/call_log.py; the page adds them).

Pure functions over the tracker's JSON: `effective_events` applies rewinds and undos as Rasa
does, `turns` groups what is left by customer message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Actions Rasa runs around every turn that are not the assistant's decisions.
BOOKKEEPING_ACTIONS = frozenset({"action_listen", "action_session_start",
                                 "action_extract_slots", "action_unlikely_intent"})
# Parse-data keys under which the NLU leaves its experts' opinions on the intent (the blend of
# bot/components/intent_blend.py and the consent check that may overrule it).
BLEND_KEYS = ("intent_blend", "intent_experts", "embedding_intent_distribution",
              "consent_check")
TOP_INTENTS = 5
EXTERNAL_PREFIX = "EXTERNAL: "  # Rasa's text for an intent triggered through its HTTP API


@dataclass
class Entity:
    entity: str
    value: Any
    extractor: str | None
    confidence: float | None
    start: int | None
    end: int | None
    role: str | None = None
    group: str | None = None


@dataclass
class ActionRun:
    name: str
    policy: str | None
    confidence: float | None
    duration_ms: int | None
    responses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Turn:
    number: int
    text: str | None
    tapped: bool  # a button's or row's payload (or an intent triggered from outside), not words
    language: str | None
    intent: str | None
    confidence: float | None
    ranking: list[dict[str, Any]]
    entities: list[Entity]
    blend: dict[str, Any]
    slots_changed: dict[str, Any]
    active_form: str | None
    requested_slot: str | None
    actions: list[ActionRun]
    duration_ms: int | None
    request_id: str | None = None
    backend_calls: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def effective_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events that still count: after the last restart, with every rewind (back to before
    the last customer message) and undo (back to before the last action) applied."""
    kept: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "restart":
            kept = []
        elif kind == "rewind":
            last_user = max((i for i, e in enumerate(kept) if e.get("event") == "user"),
                            default=None)
            if last_user is not None:
                kept = kept[:last_user]
        elif kind == "undo":
            last_action = max((i for i, e in enumerate(kept) if e.get("event") == "action"),
                              default=None)
            if last_action is not None:
                kept = kept[:last_action]
        else:
            kept.append(event)
    return kept


def is_tapped(text: str | None) -> bool:
    """A payload ("/intent{...}") or an intent triggered from outside, rather than words."""
    return not text or text.startswith("/") or text.startswith(EXTERNAL_PREFIX)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _millis(later: Any, earlier: Any) -> int | None:
    if _number(later) is None or _number(earlier) is None:
        return None
    return max(0, round((float(later) - float(earlier)) * 1000))


def _entities(parse_data: dict[str, Any]) -> list[Entity]:
    return [Entity(entity=str(e.get("entity")), value=e.get("value"),
                   extractor=e.get("extractor"),
                   confidence=_number(e.get("confidence_entity", e.get("confidence"))),
                   start=e.get("start"), end=e.get("end"), role=e.get("role"),
                   group=e.get("group"))
            for e in parse_data.get("entities") or [] if isinstance(e, dict)]


def _language(parse_data: dict[str, Any]) -> str | None:
    detection = parse_data.get("language_detection")
    if isinstance(detection, dict) and detection.get("language"):
        return str(detection["language"])
    for entity in parse_data.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == "language":
            return str(entity.get("value"))
    return None


def _new_turn(number: int, event: dict[str, Any], active_form: str | None,
              requested_slot: str | None) -> Turn:
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    ranking = [{"name": r.get("name"), "confidence": _number(r.get("confidence"))}
               for r in (parse.get("intent_ranking") or [])[:TOP_INTENTS] if isinstance(r, dict)]
    text = event.get("text")
    metadata = event.get("metadata")
    request_id = metadata.get("request_id") if isinstance(metadata, dict) else None
    return Turn(number=number, text=text, tapped=is_tapped(text), language=_language(parse),
                intent=intent.get("name"), confidence=_number(intent.get("confidence")),
                ranking=ranking, entities=_entities(parse),
                blend={key: parse[key] for key in BLEND_KEYS if parse.get(key) is not None},
                slots_changed={}, active_form=active_form, requested_slot=requested_slot,
                actions=[], duration_ms=None,
                request_id=str(request_id) if request_id else None)


def turns(tracker: dict[str, Any]) -> list[Turn]:
    """One Turn per customer message still in the conversation, oldest first."""
    slots: dict[str, Any] = {}
    active_form: str | None = None
    found: list[Turn] = []
    current: Turn | None = None
    previous_time: Any = None
    turn_started: Any = None
    last_time: Any = None
    for event in effective_events(list(tracker.get("events") or [])):
        kind = event.get("event")
        stamp = event.get("timestamp")
        if kind == "user":
            if current is not None:
                current.duration_ms = _millis(last_time, turn_started)
            current = _new_turn(len(found) + 1, event, active_form,
                                slots.get("requested_slot"))
            found.append(current)
            turn_started = stamp
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if current is not None and slots.get(name) != value:
                current.slots_changed[str(name)] = value
            slots[str(name)] = value
            if current is not None and name == "requested_slot":
                current.requested_slot = value
        elif kind == "active_loop":
            active_form = event.get("name")
            if current is not None:
                current.active_form = active_form
        elif kind == "action" and current is not None:
            name = str(event.get("name"))
            if name not in BOOKKEEPING_ACTIONS:
                current.actions.append(ActionRun(
                    name=name, policy=event.get("policy"),
                    confidence=_number(event.get("confidence")),
                    duration_ms=_millis(stamp, previous_time)))
        elif kind == "bot" and current is not None:
            response = {"text": event.get("text"),
                        "template": (event.get("metadata") or {}).get("utter_action")}
            if current.actions:
                current.actions[-1].responses.append(response)
        if stamp is not None and kind != "user_featurization":  # logged with the next action
            previous_time = stamp
            if current is not None:
                last_time = stamp
    if current is not None:
        current.duration_ms = _millis(last_time, turn_started)
    return found


def sender_language(tracker: dict[str, Any]) -> str | None:
    """The conversation's reply language now (its `language` slot)."""
    value = (tracker.get("slots") or {}).get("language")
    return str(value) if value else None
