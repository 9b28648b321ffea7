"""A simulator conversation as a test story in tests/stories' format (what `make test-stories`,
scripts/test_stories.py, runs with `rasa test core --fail-on-prediction-errors`).

Each customer message becomes a `user` step with its words and the intent and entities the NLU
found (annotated in the words: `[ya pili]{"entity": "option", "value": "2"}`), or an `intent`
step with its entities for a tapped button or row (a payload) or an intent triggered from outside;
each action the assistant ran becomes an `action` step, followed by the slots it set
(`slot_was_set`) and the form it started or ended (`active_loop`): `rasa test` does not run the
actions, it predicts them and applies the story's events. The `language` entity is left out (the
language component tags every message with it; the test script does not compare it) and the
conversation's language is in the story's name and its first step.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from backend.sandbox.simulator.debug import (
    BOOKKEEPING_ACTIONS,
    EXTERNAL_PREFIX,
    effective_events,
    is_tapped,
)

STORY_FORMAT_VERSION = "3.1"
SKIPPED_ENTITIES = frozenset({"language"})
# Actions rasa test does not predict: Rasa's own bookkeeping and the restart itself.
SKIPPED_ACTIONS = BOOKKEEPING_ACTIONS | {"action_restart", "action_back"}
_PAYLOAD = re.compile(r"^/(?P<intent>[\w.-]+)(?P<entities>\{.*\})?$", re.DOTALL)


class NothingToSave(ValueError):
    """The conversation has no customer message (yet)."""


def _annotated(text: str, entities: list[dict[str, Any]]) -> str:
    """The words with each entity marked where the NLU found it."""
    spans = sorted((e for e in entities
                    if e.get("entity") not in SKIPPED_ENTITIES and isinstance(e.get("start"), int)
                    and isinstance(e.get("end"), int) and e["end"] > e["start"]),
                   key=lambda e: (e["start"], e["end"]))
    out, position = [], 0
    for entity in spans:
        start, end = entity["start"], entity["end"]
        if start < position:
            continue  # overlapping spans cannot both be annotated
        words = text[start:end]
        out.append(text[position:start])
        extra = {k: entity[k] for k in ("role", "group") if entity.get(k)}
        if not extra and str(entity.get("value")) == words:
            out.append(f"[{words}]({entity['entity']})")
        else:
            spec = {"entity": entity["entity"], "value": entity.get("value"), **extra}
            out.append(f"[{words}]{json.dumps(spec, ensure_ascii=False)}")
        position = end
    out.append(text[position:])
    return "".join(out)


def _intent_step(text: str | None, parse: dict[str, Any]) -> dict[str, Any]:
    intent = (parse.get("intent") or {}).get("name")
    if not intent and text:
        matched = _PAYLOAD.match(text.removeprefix(EXTERNAL_PREFIX).strip()
                                 if text.startswith(EXTERNAL_PREFIX) else text)
        intent = matched.group("intent") if matched else text.removeprefix(EXTERNAL_PREFIX)
    step: dict[str, Any] = {"intent": intent}
    entities = [{e["entity"]: e.get("value")} for e in parse.get("entities") or []
                if isinstance(e, dict) and e.get("entity") not in SKIPPED_ENTITIES]
    if entities:
        step["entities"] = entities
    return step


def story_steps(tracker: dict[str, Any], language: str | None = None) -> list[dict[str, Any]]:
    """The story's steps from a tracker's events (after its rewinds and undos)."""
    events = effective_events(list(tracker.get("events") or []))
    first_user = next((i for i, e in enumerate(events) if e.get("event") == "user"), None)
    if first_user is None:
        raise NothingToSave("The conversation has no customer message to save")
    steps: list[dict[str, Any]] = []
    if language:
        steps.append({"slot_was_set": [{"language": language}]})
    pending_slots: list[dict[str, Any]] = []

    def flush() -> None:
        if pending_slots:
            steps.append({"slot_was_set": list(pending_slots)})
            pending_slots.clear()

    for event in events[first_user:]:
        kind = event.get("event")
        if kind == "user":
            flush()
            text = event.get("text")
            parse = event.get("parse_data") or {}
            if is_tapped(text):
                steps.append(_intent_step(text, parse))
            else:
                step = {"user": _annotated(str(text), list(parse.get("entities") or []))}
                step["intent"] = (parse.get("intent") or {}).get("name")
                steps.append(step)
        elif kind == "action":
            name = str(event.get("name"))
            if name in SKIPPED_ACTIONS:
                continue
            flush()
            steps.append({"action": name})
        elif kind == "slot":
            pending_slots.append({str(event.get("name")): event.get("value")})
        elif kind == "active_loop":
            flush()
            steps.append({"active_loop": event.get("name")})
    flush()
    return steps


def story_yaml(tracker: dict[str, Any], name: str, language: str | None) -> str:
    """A stories file with one story: `name (language)`."""
    title = f"{name} ({language})" if language else name
    document = {"version": STORY_FORMAT_VERSION,
                "stories": [{"story": title, "steps": story_steps(tracker, language)}]}
    header = ("# Saved from the simulator (/app/simulator); `make test-stories` runs it.\n")
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def file_name(name: str, language: str | None) -> str:
    """A safe file name for the story: simulator_<words>_<language>.yml."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "conversation"
    return f"simulator_{slug}_{language or 'xx'}.yml"
