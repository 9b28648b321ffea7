"""Evaluation examples: the public sets (labels mapped to our intents) and our held-out split.

The mapping follows the MAPPING.md that ships with the public sets: a mapped label is one of our
intents; `out_of_scope` marks an out-of-scope negative; labels listed as skip are left out.
"""
from __future__ import annotations

import csv
import hashlib
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
        return INTENT if self.set in OWN_SETS or self.label != OUT_OF_SCOPE else NEGATIVE


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
    "oos": OUT_OF_SCOPE,
}
# Tables at named restaurants are another business's bookings: skipped (MAPPING.md).
CLINC_SKIP = frozenset({
    "restaurant_reservation", "confirm_reservation", "cancel_reservation", "order", "pay_bill", "cancel", "repeat", "maybe", "change_speed", "whisper_mode", "user_name",
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

INJONGO_MAP: dict[str, str] = {}
# Hotel rooms and tables at named venues are another business's bookings: skipped (MAPPING.md).
INJONGO_SKIP = frozenset({"restaurant_reservation", "book_hotel", "confirm_reservation", "cancel_reservation",
                          "pay_bill", "shopping_list_update"})

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


# Parts that may be trained on (MAPPING.md); everything else is evaluation only.
CLINC_TRAIN_PARTS = ("train", "oos_train")
CLINC_EVAL_PARTS = ("test", "oos_test", "val", "oos_val")
CLINC_SCORED_PARTS = ("test", "oos_test")
MASSIVE_TRAIN_PART = "dev"
MASSIVE_EVAL_PART = "test"
BITEXT_CSV = Path("bitext_customer_support") / "Bitext_Sample_Customer_Support_Training_Dataset.csv"


def bitext_is_eval(instruction: str) -> bool:
    """Bitext's evaluation part: the instruction's SHA-1 (UTF-8, hex read as an integer) divisible by 5."""
    return int(hashlib.sha1(instruction.encode("utf-8")).hexdigest(), 16) % 5 == 0


def clinc_rows(root: Path, parts: Iterable[str]) -> list[tuple[str, str, str]]:
    """(text, CLINC label, part) of the given parts of data_full.json."""
    data = json.loads(_need(root / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return [(text, label, part) for part in parts for text, label in data.get(part, [])]


def bitext_rows(root: Path) -> list[dict]:
    with _need(root / BITEXT_CSV).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def massive_rows(root: Path, locale: str, part: str) -> list[dict]:
    return _jsonl(root / "massive" / f"{locale}_{part}.jsonl")


def load_clinc150(root: Path, parts: Iterable[str] = CLINC_SCORED_PARTS, keep_skipped: bool = False) -> list[Example]:
    """The scored parts (test, oos_test); `keep_skipped` adds skipped labels with label "" (overlap only)."""
    examples = []
    for text, label, part in clinc_rows(root, parts):
        mapped = map_label(CLINC_MAP, CLINC_SKIP, label)
        if mapped or keep_skipped:
            examples.append(Example("clinc150", "en", text, mapped or "", label, part))
    return examples


def load_bitext(root: Path, keep_skipped: bool = False) -> list[Example]:
    """Bitext's evaluation part only (bitext_is_eval); the other rows may be trained on."""
    return [Example("bitext", "en", row["instruction"], BITEXT_MAP.get(row["intent"], ""), row["intent"], "eval")
            for row in bitext_rows(root)
            if (row["intent"] in BITEXT_MAP or keep_skipped) and bitext_is_eval(row["instruction"])]


def load_massive(root: Path, keep_skipped: bool = False) -> list[Example]:
    examples = []
    for locale, lang in MASSIVE_LOCALES.items():
        for row in massive_rows(root, locale, MASSIVE_EVAL_PART):
            mapped = map_label(MASSIVE_MAP, MASSIVE_SKIP, row["intent"], MASSIVE_SKIP_PREFIXES)
            if mapped or keep_skipped:
                examples.append(Example("massive", lang, row["utt"], mapped or "", row["intent"],
                                        f"{locale}_{MASSIVE_EVAL_PART}"))
    return examples


def load_injongo(root: Path, keep_skipped: bool = False) -> list[Example]:
    return [Example("injongo", "sw", row["text"], mapped or "", row["intent"], "test")
            for row in _jsonl(root / "injongo_intent_swa" / "swa_test.jsonl")
            if (mapped := map_label(INJONGO_MAP, INJONGO_SKIP, row["intent"])) or keep_skipped]


def load_afriqa(root: Path) -> list[Example]:
    examples = []
    for part in ("test", "dev"):
        for row in _jsonl(root / "afriqa_swa" / f"queries.afriqa.swa.en.{part}.json"):
            examples.append(Example("afriqa", "sw", row["question"], OUT_OF_SCOPE, "question", part))
    return examples


def load_sheng(root: Path, keep_skipped: bool = False) -> list[Example]:
    data = json.loads(_need(root / "sheng_swahili_chatbot_intents" / "intents.json").read_text(encoding="utf-8"))
    return [Example("sheng", "sheng", pattern, SHENG_MAP.get(intent["tag"], ""), intent["tag"], "patterns")
            for intent in data["intents"] if intent["tag"] in SHENG_MAP or keep_skipped
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
INDEPENDENT_PARTS = ("dev", "test")
INDEPENDENT_SETS = tuple(f"independent-{part}" for part in INDEPENDENT_PARTS)
# Our own sets: every sentence needs its exact label, out_of_scope included.
OWN_SETS = frozenset({HELDOUT, *INDEPENDENT_SETS})
ALL_SETS = (HELDOUT, *INDEPENDENT_SETS, *PUBLIC_LOADERS)
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


def load_independent(independent_dir: Path, part: str) -> list[Example]:
    """eval/independent/intents/<part>/<lang>.yml, and <part>-<writer>/ for a further writer's
    share of the same part (written by people who never saw the repository): every intent
    example, its language from the file name."""
    root = independent_dir / "intents"
    if not root.is_dir():
        return []
    folders = [root / part] + sorted(root.glob(f"{part}-*"))
    return [Example(f"independent-{part}", path.stem, text, intent, intent,
                    f"{folder.name}/{path.name}")
            for folder in folders if folder.is_dir()
            for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))
            for intent, text in read_rasa_yaml(path) if intent]


def _faq_strings(node, language: str = "") -> list[tuple[str, str]]:
    """(language, text) of every question in an FAQ evaluation file: `q:` values and plain list items."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "q" and isinstance(value, str):
                found.append((language, value))
            else:
                found += _faq_strings(value, str(key) if str(key) in ("en", "sw", "sheng") else language)
    elif isinstance(node, list):
        for item in node:
            found += [(language, item)] if isinstance(item, str) else _faq_strings(item, language)
    return found


def load_faq_questions(faq_dir: Path) -> list[Example]:
    """Every question of the FAQ evaluation (eval/faq/**): checked for overlap, not scored here."""
    examples = []
    if not faq_dir.is_dir():
        return examples
    for path in sorted(faq_dir.rglob("*.yaml")) + sorted(faq_dir.rglob("*.yml")):
        if "kb" in path.relative_to(faq_dir).parts:
            continue  # a merchant's knowledge base: its content, not questions asked of it
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DatasetError(f"{path}: not valid YAML: {exc}") from exc
        examples += [Example("faq", lang or "?", text, "", "question", str(path.relative_to(faq_dir)))
                     for lang, text in _faq_strings(document) if text.strip()]
    return examples


def load_sets(names: list[str], external_dir: Path, heldout_dir: Path,
              independent_dir: Path | None = None) -> list[Example]:
    examples: list[Example] = []
    for name in names:
        if name == HELDOUT:
            examples += load_heldout(heldout_dir)
        elif name in INDEPENDENT_SETS:
            examples += load_independent(independent_dir, name.split("-", 1)[1]) if independent_dir else []
        else:
            examples += PUBLIC_LOADERS[name](external_dir)
    return examples


def overlap_sets(external_dir: Path, heldout_dir: Path, independent_dir: Path | None,
                 faq_dir: Path | None) -> list[Example]:
    """Every evaluation sentence, whatever is scored: held-out, independent, FAQ questions and every
    row of the public evaluation parts (CLINC150 val and test, MASSIVE test, Bitext's evaluation
    part, INJONGO, AfriQA, Sheng; skipped labels included)."""
    examples = load_heldout(heldout_dir)
    for part in INDEPENDENT_PARTS:
        examples += load_independent(independent_dir, part) if independent_dir else []
    examples += load_faq_questions(faq_dir) if faq_dir else []
    examples += load_clinc150(external_dir, CLINC_EVAL_PARTS, keep_skipped=True)
    for name in ("bitext", "massive", "injongo", "sheng"):
        examples += PUBLIC_LOADERS[name](external_dir, keep_skipped=True)
    examples += load_afriqa(external_dir)
    return examples
