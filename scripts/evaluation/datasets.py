"""Evaluation examples: the public sets (labels mapped to our intents) and our held-out split.

The mapping follows the MAPPING.md that ships with the public sets: a mapped label is one of our
intents; `out_of_scope` marks an out-of-scope negative; labels listed as skip are left out.
"""
from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import yaml

OUT_OF_SCOPE = "out_of_scope"
INTENT = "intent"      # an example whose prediction must equal its label
NEGATIVE = "negative"  # an out-of-scope negative from a public set (scored by the OOS rule)


class DatasetError(Exception):
    """A set that is missing or cannot be read."""


@dataclass(frozen=True)
class Example:
    """One sentence to parse and its expected label."""

    set: str
    lang: str
    text: str
    label: str         # our intent, or out_of_scope for a negative
    source_label: str  # the set's own label (or the held-out file) for reference
    part: str          # test, oos_test, dev, or the held-out file name

    @property
    def kind(self) -> str:
        return INTENT if self.set == HELDOUT or self.label != OUT_OF_SCOPE else NEGATIVE


def map_label(mapping: dict[str, str], skip: Iterable[str], label: str,
              skip_prefixes: Iterable[str] = ()) -> str | None:
    """Our label for a set's label: mapped, None to skip it, else an out-of-scope negative."""
    if label in skip or any(label.startswith(prefix) for prefix in skip_prefixes):
        return None
    return mapping.get(label, OUT_OF_SCOPE)


# ---------------------------------------------------------------- label mappings (MAPPING.md)

CLINC_MAP = {
    "greeting": "greet", "goodbye": "goodbye", "thank_you": "thank_you", "yes": "affirm", "no": "deny",
    **{name: "small_talk" for name in (
        "are_you_a_bot", "what_is_your_name", "how_old_are_you", "tell_joke", "who_made_you",
        "what_are_your_hobbies", "meaning_of_life", "fun_fact", "do_you_have_pets", "where_are_you_from")},
    "order_status": "check_order_status",
    "restaurant_reservation": "book_appointment",
    "confirm_reservation": "check_appointment_status",
    "cancel_reservation": "cancel_appointment",
    "oos": OUT_OF_SCOPE,
}
CLINC_SKIP = frozenset({
    "order", "pay_bill", "cancel", "repeat", "maybe", "change_speed", "whisper_mode", "user_name",
    "change_ai_name", "change_user_name", "reset_settings", "sync_device"})

# Bitext: only the mapped intents are used; every other one is skipped (not a negative).
BITEXT_MAP = {
    "place_order": "place_order", "cancel_order": "cancel_order", "track_order": "check_order_status",
    "payment_issue": "payment_help", "check_payment_methods": "payment_help",
    "check_refund_policy": "return_policy", "get_refund": "return_policy", "track_refund": "return_policy",
    "delivery_options": "delivery_fees", "delivery_period": "delivery_fees",
    "contact_human_agent": "request_human", "contact_customer_service": "request_human",
}

MASSIVE_MAP = {"general_greet": "greet", "general_joke": "small_talk"}
MASSIVE_SKIP = frozenset({"takeaway_order", "takeaway_query", "general_quirky", "qa_factoid", "qa_definition"})
MASSIVE_SKIP_PREFIXES = ("lists_",)
MASSIVE_LOCALES = {"sw-KE": "sw", "en-US": "en"}

INJONGO_MAP = {
    "restaurant_reservation": "book_appointment", "book_hotel": "book_appointment",
    "confirm_reservation": "check_appointment_status", "cancel_reservation": "cancel_appointment",
}
INJONGO_SKIP = frozenset({"pay_bill", "shopping_list_update"})

SHENG_MAP = {"Karibu": "greet", "Asante": "thank_you"}


# ---------------------------------------------------------------- public set loaders

def _need(path: Path) -> Path:
    if not path.is_file():
        raise DatasetError(f"missing {path}")
    return path


def _jsonl(path: Path) -> list[dict]:
    rows = []
    with _need(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path}:{number}: {exc}") from exc
    return rows


def load_clinc150(root: Path) -> list[Example]:
    data = json.loads(_need(root / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    examples = []
    for part in ("test", "oos_test"):
        for text, label in data[part]:
            mapped = map_label(CLINC_MAP, CLINC_SKIP, label)
            if mapped:
                examples.append(Example("clinc150", "en", text, mapped, label, part))
    return examples


def load_bitext(root: Path) -> list[Example]:
    path = _need(root / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return [Example("bitext", "en", row["instruction"], BITEXT_MAP[row["intent"]], row["intent"], "sample")
                for row in csv.DictReader(handle) if row["intent"] in BITEXT_MAP]


def load_massive(root: Path) -> list[Example]:
    examples = []
    for locale, lang in MASSIVE_LOCALES.items():
        for row in _jsonl(root / "massive" / f"{locale}_test.jsonl"):
            mapped = map_label(MASSIVE_MAP, MASSIVE_SKIP, row["intent"], MASSIVE_SKIP_PREFIXES)
            if mapped:
                examples.append(Example("massive", lang, row["utt"], mapped, row["intent"], f"{locale}_test"))
    return examples


def load_injongo(root: Path) -> list[Example]:
    return [Example("injongo", "sw", row["text"], mapped, row["intent"], "test")
            for row in _jsonl(root / "injongo_intent_swa" / "swa_test.jsonl")
            if (mapped := map_label(INJONGO_MAP, INJONGO_SKIP, row["intent"]))]


def load_afriqa(root: Path) -> list[Example]:
    examples = []
    for part in ("test", "dev"):
        for row in _jsonl(root / "afriqa_swa" / f"queries.afriqa.swa.en.{part}.json"):
            examples.append(Example("afriqa", "sw", row["question"], OUT_OF_SCOPE, "question", part))
    return examples


def load_sheng(root: Path) -> list[Example]:
    data = json.loads(_need(root / "sheng_swahili_chatbot_intents" / "intents.json").read_text(encoding="utf-8"))
    return [Example("sheng", "sheng", pattern, SHENG_MAP[intent["tag"]], intent["tag"], "patterns")
            for intent in data["intents"] if intent["tag"] in SHENG_MAP
            for pattern in intent["patterns"]]


PUBLIC_LOADERS: dict[str, Callable[[Path], list[Example]]] = {
    "clinc150": load_clinc150,
    "bitext": load_bitext,
    "massive": load_massive,
    "injongo": load_injongo,
    "afriqa": load_afriqa,
    "sheng": load_sheng,
}
HELDOUT = "heldout"
ALL_SETS = (HELDOUT, *PUBLIC_LOADERS)
# The public sets' folder names are accepted for the short names.
ALIASES = {"bitext_customer_support": "bitext", "injongo_intent_swa": "injongo", "afriqa_swa": "afriqa",
           "sheng_swahili_chatbot_intents": "sheng", "clinc": "clinc150"}


def parse_set_names(value: str | None) -> list[str]:
    """`heldout,clinc150,…` (folder names allowed) → known set names in the standard order; empty → all."""
    if not value or not value.strip():
        return list(ALL_SETS)
    wanted = set()
    for name in (part.strip() for part in value.split(",")):
        if not name:
            continue
        name = ALIASES.get(name, name)
        if name not in ALL_SETS:
            raise ValueError(f"unknown set {name!r}; known: {', '.join(ALL_SETS)}")
        wanted.add(name)
    return [name for name in ALL_SETS if name in wanted]


# ---------------------------------------------------------------- Rasa YAML (training data, held-out)

# The annotation forms of Rasa 3 training data: [text](entity), [text](entity:value),
# [text]{"entity": …}, [text][{…}, {…}].
_ENTITY_MARKUP = re.compile(r"\[(?P<text>[^\]]+?)\](?:\([^)]*?\)|\{[^}]*?\}|\[\{.*?\}\])")


def strip_entity_markup(text: str) -> str:
    """The plain sentence of an annotated training example."""
    return _ENTITY_MARKUP.sub(lambda match: match.group("text"), text)


def _example_lines(examples) -> list[str]:
    """The sentences of an `examples:` value (a `- …` block, or a list of {text: …} with metadata)."""
    if isinstance(examples, str):
        lines = []
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                line = line[2:].strip()
            elif line == "-":
                continue
            if line:
                lines.append(line)
        return lines
    if isinstance(examples, list):
        return [str(item["text"]).strip() if isinstance(item, dict) else str(item).strip()
                for item in examples if item]
    return []


def read_rasa_yaml(path: Path) -> list[tuple[str, str]]:
    """(intent, plain sentence) of every intent example in a Rasa YAML file, plus ("", text) for
    the `user:` turns of its stories and rules (they are trained on as well)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DatasetError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise DatasetError(f"{path}: not a Rasa training data file")
    pairs = []
    for item in document.get("nlu") or []:
        if isinstance(item, dict) and "intent" in item:
            pairs += [(str(item["intent"]), strip_entity_markup(text)) for text in _example_lines(item.get("examples"))]
    for key in ("stories", "rules"):
        for story in document.get(key) or []:
            for step in (story or {}).get("steps") or []:
                if isinstance(step, dict) and isinstance(step.get("user"), str):
                    pairs.append(("", strip_entity_markup(step["user"].strip())))
    return pairs


def training_sentences(data_dir: Path) -> list[tuple[str, str]]:
    """(file, sentence) of every sentence trained on: NLU examples and story/rule user turns in data/."""
    return [(str(path.relative_to(data_dir.parent)), text)
            for path in sorted(data_dir.rglob("*.yml")) + sorted(data_dir.rglob("*.yaml"))
            for _, text in read_rasa_yaml(path)]


def load_heldout(heldout_dir: Path) -> list[Example]:
    """eval/heldout/<lang>/*.yml: every intent example, its language from the folder."""
    examples = []
    if not heldout_dir.is_dir():
        return examples
    for lang_dir in sorted(p for p in heldout_dir.iterdir() if p.is_dir()):
        for path in sorted(lang_dir.rglob("*.yml")) + sorted(lang_dir.rglob("*.yaml")):
            part = str(path.relative_to(heldout_dir))
            examples += [Example(HELDOUT, lang_dir.name, text, intent, intent, part)
                         for intent, text in read_rasa_yaml(path) if intent]
    return examples


# ---------------------------------------------------------------- selection

def limit_examples(examples: list[Example], limit: int | None, seed: int = 0) -> list[Example]:
    """At most `limit` examples per (set, language), drawn evenly at random (fixed seed), order kept."""
    if not limit:
        return examples
    groups: dict[tuple[str, str], list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault((example.set, example.lang), []).append(index)
    keep: set[int] = set()
    for key, indices in groups.items():
        rng = random.Random(f"{seed}:{key[0]}:{key[1]}")
        keep.update(indices if len(indices) <= limit else rng.sample(indices, limit))
    return [example for index, example in enumerate(examples) if index in keep]


def load_sets(names: list[str], external_dir: Path, heldout_dir: Path) -> list[Example]:
    examples: list[Example] = []
    for name in names:
        examples += load_heldout(heldout_dir) if name == HELDOUT else PUBLIC_LOADERS[name](external_dir)
    return examples
