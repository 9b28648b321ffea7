"""scripts/eval_nlu.py without a model: label mapping of the public sets, Rasa YAML reading and the
overlap check (a planted overlap fails the run before anything is parsed)."""
from __future__ import annotations

import csv
import re
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import eval_nlu  # noqa: E402
from evaluation import datasets, overlap  # noqa: E402
from evaluation.datasets import NEGATIVE, OUT_OF_SCOPE  # noqa: E402


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@pytest.fixture
def external(tmp_path: Path) -> Path:
    """A miniature copy of every public set, in the original formats."""
    root = tmp_path / "external"
    (root / "clinc150").mkdir(parents=True)
    (root / "clinc150" / "data_full.json").write_text(json.dumps({
        "train": [["train sentence", "greeting"], ["where is my parcel", "order_status"],
                  ["how deep is the ocean", "transfer"], ["book a table at nandos", "restaurant_reservation"]],
        "oos_train": [["who painted the mona lisa", "oos"]],
        "val": [["hi", "greeting"], ["please move my money to the savings account", "transfer"]],
        "test": [["hello there friend", "greeting"], ["see you soon", "goodbye"], ["yes that works", "yes"],
                 ["are you a robot", "are_you_a_bot"], ["where is my package", "order_status"],
                 ["book a table for two", "restaurant_reservation"], ["buy more paper towels", "order"],
                 ["move money to savings", "transfer"]],
        "oos_test": [["how tall is everest", "oos"]],
    }), encoding="utf-8")
    bitext = root / "bitext_customer_support"
    bitext.mkdir()
    with (bitext / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["context", "role", "instruction", "intent", "category", "response"])
        # The first four are Bitext's evaluation part (SHA-1 divisible by 5), the last two its training part.
        for text, intent in [("i want to buy item 5 pls", "place_order"), ("get me a person thanks", "contact_customer_service"),
                             ("how long is delivery now", "delivery_period"), ("edit my account", "edit_account"),
                             ("i want a refund please", "get_refund"), ("track order 1234", "track_order")]:
            writer.writerow(["customer support", "virtual assistant", text, intent, "X", "sure"])
    for locale, texts in {"sw-KE": ["habari rafiki", "niambie utani", "hali ya hewa leo", "ongeza maziwa kwa orodha"],
                          "en-US": ["hello friend", "tell me a joke", "weather today", "add milk to my list"]}.items():
        write_jsonl(root / "massive" / f"{locale}_test.jsonl", [
            {"id": str(i), "locale": locale, "intent": intent, "utt": text}
            for i, (text, intent) in enumerate(zip(texts, ["general_greet", "general_joke", "weather_query",
                                                           "lists_createoradd"]))])
    for locale, texts in {"sw-KE": ["mambo yako", "washa taa za jikoni", "nunua pizza"],
                          "en-US": ["good morning there", "turn on the kitchen lights", "order a pizza"]}.items():
        write_jsonl(root / "massive" / f"{locale}_dev.jsonl", [
            {"id": str(i), "locale": locale, "intent": intent, "utt": text}
            for i, (text, intent) in enumerate(zip(texts, ["general_greet", "iot_hue_lighton", "takeaway_order"]))])
    write_jsonl(root / "injongo_intent_swa" / "swa_test.jsonl", [
        {"intent": "book_hotel", "text": "nibookie chumba mombasa"},
        {"intent": "cancel_reservation", "text": "futa uhifadhi wangu"},
        {"intent": "pay_bill", "text": "lipa bili ya maji"},
        {"intent": "balance", "text": "salio langu ni ngapi"}])
    for folder in ("clinc150", "bitext_customer_support", "massive"):
        (root / folder / "SOURCE.txt").write_text("Dataset: test copy\nLicence: CC BY 4.0\n", encoding="utf-8")
    for part, question in [("test", "Mlima Kenya una urefu gani?"), ("dev", "Rais wa kwanza alikuwa nani?")]:
        write_jsonl(root / "afriqa_swa" / f"queries.afriqa.swa.en.{part}.json",
                    [{"id": 0, "question": question, "translated_question": "?"}])
    (root / "sheng_swahili_chatbot_intents").mkdir()
    (root / "sheng_swahili_chatbot_intents" / "intents.json").write_text(json.dumps({"intents": [
        {"tag": "Karibu", "patterns": ["Wozza", "Rada"]}, {"tag": "Asante", "patterns": ["Shukran"]},
        {"tag": "Ghairi", "patterns": ["Sitaki tena"]}]}), encoding="utf-8")
    return root


def labels(examples) -> dict[str, str]:
    return {e.text: e.label for e in examples}


def test_clinc_mapping(external: Path):
    examples = datasets.load_clinc150(external)
    assert labels(examples) == {
        "hello there friend": "greet", "see you soon": "goodbye", "yes that works": "affirm",
        "are you a robot": "small_talk", "where is my package": "check_order_status",
        "move money to savings": OUT_OF_SCOPE,
        "how tall is everest": OUT_OF_SCOPE}  # "order" and reservations are skipped; train and val are not scored
    kinds = {e.text: e.kind for e in examples}
    assert kinds["move money to savings"] == NEGATIVE and kinds["hello there friend"] == "intent"
    assert {e.lang for e in examples} == {"en"}


def test_other_mappings(external: Path):
    assert labels(datasets.load_bitext(external)) == {
        "i want to buy item 5 pls": "place_order", "get me a person thanks": "request_human",
        "how long is delivery now": "delivery_fees"}  # other intents skipped; the training part is not scored
    massive = datasets.load_massive(external)
    assert {(e.lang, e.text): e.label for e in massive} == {
        ("sw", "habari rafiki"): "greet", ("sw", "niambie utani"): "small_talk",
        ("sw", "hali ya hewa leo"): OUT_OF_SCOPE,
        ("en", "hello friend"): "greet", ("en", "tell me a joke"): "small_talk", ("en", "weather today"): OUT_OF_SCOPE}
    assert labels(datasets.load_injongo(external)) == {"salio langu ni ngapi": OUT_OF_SCOPE}  # bookings skipped
    afriqa = datasets.load_afriqa(external)
    assert {(e.part, e.label, e.lang) for e in afriqa} == {("test", OUT_OF_SCOPE, "sw"), ("dev", OUT_OF_SCOPE, "sw")}
    assert labels(datasets.load_sheng(external)) == {"Wozza": "greet", "Rada": "greet", "Shukran": "thank_you"}


def test_map_label_rules():
    assert datasets.map_label({"a": "greet"}, {"b"}, "a") == "greet"
    assert datasets.map_label({"a": "greet"}, {"b"}, "b") is None
    assert datasets.map_label({"a": "greet"}, {"b"}, "c") == OUT_OF_SCOPE
    assert datasets.map_label({}, (), "lists_query", ("lists_",)) is None


def test_set_names():
    assert datasets.parse_set_names("") == list(datasets.ALL_SETS)
    assert datasets.parse_set_names("sheng, heldout,bitext_customer_support") == ["heldout", "bitext", "sheng"]
    with pytest.raises(ValueError):
        datasets.parse_set_names("heldout,nope")


def test_limit_is_per_set_and_language_and_repeatable(external: Path):
    examples = datasets.load_sets(["massive", "clinc150"], external, external / "none")
    limited = datasets.limit_examples(examples, 2)
    counts = {}
    for e in limited:
        counts[(e.set, e.lang)] = counts.get((e.set, e.lang), 0) + 1
    assert counts == {("massive", "sw"): 2, ("massive", "en"): 2, ("clinc150", "en"): 2}
    assert limited == datasets.limit_examples(examples, 2)
    assert datasets.limit_examples(examples, 0) == examples


# ---------------------------------------------------------------- Rasa YAML and the overlap check

NLU_FILE = """version: "3.1"
nlu:
- intent: browse_products
  examples: |
    - show me [black sneakers](product) under [2k](budget)
    - mko na [viatu]{"entity": "category", "value": "shoes"}?
    - [red](colour)[dress][{"entity": "product"}, {"entity": "x"}] please
- intent: greet
  examples:
  - text: niaje msee
    metadata: {sentiment: neutral}
- synonym: shoes
  examples: |
    - viatu
"""


def test_strip_entity_markup():
    assert datasets.strip_entity_markup("show me [black sneakers](product) under [2k](budget:2000)") == \
        "show me black sneakers under 2k"
    assert datasets.strip_entity_markup('mko na [viatu]{"entity": "category"}?') == "mko na viatu?"
    assert datasets.strip_entity_markup('[dress][{"entity": "product"}, {"entity": "x"}] please') == "dress please"
    assert datasets.strip_entity_markup("no markup [here]") == "no markup [here]"


def test_read_rasa_yaml(tmp_path: Path):
    path = tmp_path / "nlu.yml"
    path.write_text(NLU_FILE, encoding="utf-8")
    assert datasets.read_rasa_yaml(path) == [
        ("browse_products", "show me black sneakers under 2k"), ("browse_products", "mko na viatu?"),
        ("browse_products", "reddress please"), ("greet", "niaje msee")]  # synonyms are not sentences
    stories = tmp_path / "stories.yml"
    stories.write_text('version: "3.1"\nstories:\n- story: s\n  steps:\n  - intent: greet\n'
                       '  - user: |\n      hi [shop](product)\n  - action: utter_greet\n', encoding="utf-8")
    assert datasets.read_rasa_yaml(stories) == [("", "hi shop")]
    broken = tmp_path / "broken.yml"
    broken.write_text("nlu:\n- intent: x\n  examples: |\n - a\n bad: [", encoding="utf-8")
    with pytest.raises(datasets.DatasetError):
        datasets.read_rasa_yaml(broken)


def test_normalise():
    assert overlap.normalise("  Hey,   THERE!! ") == "hey there"
    assert overlap.normalise("don't") == overlap.normalise("dont")
    assert overlap.normalise("«Habari» yako?") == "habari yako"
    assert overlap.normalise("2k ni sawa") == "2k ni sawa"


def test_find_overlaps_after_normalising(external: Path):
    examples = datasets.load_sets(["clinc150", "sheng"], external, external / "none")
    training = [("data/nlu/en/basics.yml", "Hello there, friend!"), ("data/nlu/sheng/basics.yml", "wozza"),
                ("data/nlu/en/basics.yml", "hello there")]
    found = overlap.find_overlaps(training, examples)
    assert sorted((o.example.text, o.training_text) for o in found) == [
        ("Wozza", "wozza"), ("hello there friend", "Hello there, friend!")]
    assert overlap.find_overlaps([("f", "something else")], examples) == []


def write_project(tmp_path: Path, training: str, heldout: str) -> tuple[Path, Path]:
    data, held = tmp_path / "data", tmp_path / "heldout"
    (data / "nlu" / "en").mkdir(parents=True)
    (data / "nlu" / "en" / "basics.yml").write_text(
        f'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - {training}\n', encoding="utf-8")
    (held / "sheng").mkdir(parents=True)
    (held / "sheng" / "basics.yml").write_text(
        f'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - {heldout}\n', encoding="utf-8")
    return data, held


def run_main(tmp_path: Path, external: Path, data: Path, held: Path, *extra: str) -> int:
    return eval_nlu.main(["--external", str(external), "--data", str(data), "--heldout", str(held),
                          "--out", str(tmp_path / "results"), "--model", str(tmp_path / "no-model.tar.gz"),
                          *extra])


def test_planted_public_overlap_fails_before_parsing(tmp_path: Path, external: Path, capsys):
    data, held = write_project(tmp_path, "[Rada](product)!", "niaje wasee")
    assert run_main(tmp_path, external, data, held, "--sets", "heldout,sheng") == 3
    err = capsys.readouterr().err
    assert "1 evaluation sentences are also training sentences" in err
    assert "[sheng/sheng patterns] 'Rada'" in err and "basics.yml: 'Rada!'" in err
    assert not (tmp_path / "results").exists()


def test_heldout_sentence_in_training_fails(tmp_path: Path, external: Path, capsys):
    data, held = write_project(tmp_path, "Niaje wasee", "niaje, wasee")
    assert run_main(tmp_path, external, data, held, "--sets", "heldout", "--overlap-only") == 3
    assert "[heldout/sheng sheng/basics.yml] 'niaje, wasee'" in capsys.readouterr().err


def test_drop_overlaps_goes_on_without_them_but_still_fails(tmp_path: Path, external: Path, capsys):
    data, held = write_project(tmp_path, "Rada", "niaje wasee")
    assert run_main(tmp_path, external, data, held, "--sets", "sheng", "--drop-overlaps", "--overlap-only") == 3
    # past the overlap check it needs the model, which is missing here
    assert run_main(tmp_path, external, data, held, "--sets", "sheng", "--drop-overlaps") == 2
    err = capsys.readouterr().err
    assert "scoring without these 1 sentences" in err and "no model at" in err


def test_overlap_check_ignores_the_limit(tmp_path: Path, external: Path):
    data, held = write_project(tmp_path, "move money to savings", "niaje wasee")
    assert run_main(tmp_path, external, data, held, "--sets", "clinc150", "--limit", "1", "--overlap-only") == 3


def test_clean_data_passes_the_overlap_check_and_needs_a_model(tmp_path: Path, external: Path, capsys):
    data, held = write_project(tmp_path, "sasa buda", "niaje wasee")
    assert run_main(tmp_path, external, data, held, "--overlap-only") == 0
    assert "no overlap" in capsys.readouterr().out
    assert run_main(tmp_path, external, data, held) == 2  # no model at the given path
    assert "no model at" in capsys.readouterr().err


def test_unknown_set_and_missing_files_are_errors(tmp_path: Path, external: Path, capsys):
    data, held = write_project(tmp_path, "sasa buda", "niaje wasee")
    assert run_main(tmp_path, external, data, held, "--sets", "nope") == 2
    assert run_main(tmp_path, tmp_path / "nowhere", data, held, "--sets", "clinc150") == 2
    assert "missing" in capsys.readouterr().err


SHARED = eval_nlu.default_external()


@pytest.mark.skipif(not (SHARED / "clinc150" / "data_full.json").is_file(), reason="public sets not present")
def test_real_public_sets_load_with_the_documented_sizes():
    examples = datasets.load_sets(list(datasets.PUBLIC_LOADERS), SHARED, ROOT / "none")
    by_set = {}
    for e in examples:
        by_set.setdefault((e.set, e.lang), []).append(e)
    # clinc150: 4,500 test less 12 skipped intents × 30, plus 1,000 out-of-scope
    assert len(by_set[("clinc150", "en")]) == 4500 - 15 * 30 + 1000
    assert len(by_set[("afriqa", "sw")]) == 302 + 417
    assert len(by_set[("injongo", "sw")]) == 640 - 6 * 16
    assert all(datasets.bitext_is_eval(e.text) for e in by_set[("bitext", "en")])
    assert 0.15 < len(by_set[("bitext", "en")]) / 2000 < 0.25  # a fifth of the 12 mapped intents' ~2,000 rows
    assert len(by_set[("massive", "sw")]) == len(by_set[("massive", "en")])
    assert {e.label for e in by_set[("bitext", "en")]} == {
        "place_order", "cancel_order", "check_order_status", "payment_help", "return_policy", "delivery_fees",
        "request_human"}
    assert len(by_set[("sheng", "sheng")]) == 9 + 7  # Karibu and Asante


# ---------------------------------------------------------------- near copies, every evaluation sentence

def test_near_copies_are_found():
    examples = [datasets.Example("clinc150", "en", "can you please tell me the status of my order", "check_order_status",
                                 "order_status", "test"),
                datasets.Example("bitext", "en", "track my order 00123842 please", "check_order_status", "track_order",
                                 "eval"),
                datasets.Example("sheng", "sheng", "size 40", "inform", "x", "patterns"),
                datasets.Example("heldout", "en", "i would like to know the status of my order now", "check_order_status",
                                 "en/orders.yml", "en/orders.yml")]
    training = [("a.yml", "can you tell me the status of my order"),         # one word dropped: near copy
                ("b.yml", "track my order 5521 please"),                        # another number: near copy
                ("c.yml", "size 42"),                                           # two words: only copies count
                ("d.yml", "i would like to know the status of my order")]       # held-out: copies only
    found = {o.example.text: (o.kind, o.training_text) for o in overlap.find_overlaps(training, examples)}
    assert found == {"can you please tell me the status of my order": ("near copy", "can you tell me the status of my order"),
                     "track my order 00123842 please": ("near copy", "track my order 5521 please")}
    assert overlap.find_overlaps(training, examples, near=False) == []
    # a paraphrase is not a near copy
    assert overlap.find_overlaps([("e.yml", "where is the thing i ordered last week")], examples) == []


def write_own_sets(tmp_path: Path) -> tuple[Path, Path]:
    independent, faq = tmp_path / "independent", tmp_path / "faq"
    (independent / "intents" / "test").mkdir(parents=True)
    (independent / "intents" / "test" / "sw.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: cancel_appointment\n  examples: |\n    - naomba ufute miadi yangu ya kesho\n',
        encoding="utf-8")
    (independent / "intents" / "dev").mkdir(parents=True)
    (independent / "intents" / "dev" / "en.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - good evening shop\n', encoding="utf-8")
    (faq / "merchants").mkdir(parents=True)
    (faq / "merchants" / "glow-salon.yaml").write_text(
        "answerable:\n  en:\n    - {q: do you open on sundays at all, expect: hours}\n"
        "unanswerable:\n  sw: [nani alishinda mechi ya jana usiku]\n", encoding="utf-8")
    return independent, faq


def run_with_own_sets(tmp_path, external, training, *extra):
    tmp_path.mkdir(exist_ok=True)
    data, held = write_project(tmp_path, training, "niaje wasee")
    independent, faq = write_own_sets(tmp_path)
    return eval_nlu.main(["--external", str(external), "--data", str(data), "--heldout", str(held),
                          "--independent", str(independent), "--faq", str(faq), "--out", str(tmp_path / "results"),
                          "--model", str(tmp_path / "no-model.tar.gz"), "--overlap-only", *extra])


@pytest.mark.parametrize("planted", [
    "naomba ufute miadi yangu ya kesho",            # an independent test sentence
    "Good evening, shop!",                          # an independent dev sentence
    "do you open on sundays at all?",               # an FAQ question
    "nani alishinda mechi ya jana usiku",           # an unanswerable FAQ question
    "please move my money to the savings account",  # CLINC150 val (never scored, still checked)
    "edit my account",                              # Bitext's evaluation part, a skipped intent
    "please move all my money to the savings account",  # a near copy (one word added)
])
def test_a_planted_copy_of_any_evaluation_sentence_fails(tmp_path: Path, external: Path, capsys, planted: str):
    # whatever sets are selected: the overlap check covers every evaluation sentence
    assert run_with_own_sets(tmp_path, external, planted, "--sets", "heldout") == 3
    assert "evaluation sentences are also training sentences or near copies" in capsys.readouterr().err


def test_common_phrases_of_unscored_parts_and_training_parts_pass(tmp_path: Path, external: Path, capsys):
    # "hi" is CLINC150 val (never scored), "track order 1234" Bitext's training part
    for number, training in enumerate(("hi", "track order 1234", "where is my parcel")):
        assert run_with_own_sets(tmp_path / str(number), external, training) == 0, training
    assert "no overlap" in capsys.readouterr().out


def test_independent_sets_load_with_language_from_the_file_name(tmp_path: Path, external: Path):
    independent, _ = write_own_sets(tmp_path)
    examples = datasets.load_sets(["independent-dev", "independent-test"], external, tmp_path / "none", independent)
    assert [(e.set, e.lang, e.label, e.kind) for e in examples] == [
        ("independent-dev", "en", "greet", "intent"), ("independent-test", "sw", "cancel_appointment", "intent")]


# ---------------------------------------------------------------- scripts/import_public_training.py

import import_public_training  # noqa: E402


def test_import_takes_only_training_parts_with_mapped_labels(tmp_path: Path, external: Path):
    out = tmp_path / "data" / "nlu" / "public"
    (tmp_path / "data" / "nlu" / "en").mkdir(parents=True)
    (tmp_path / "data" / "nlu" / "en" / "basics.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - mambo yako\n', encoding="utf-8")
    files = import_public_training.build(external, out, tmp_path / "eval", tmp_path / "data" / "nlu")
    assert files == import_public_training.build(external, out, tmp_path / "eval", tmp_path / "data" / "nlu")
    pairs = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert "Licence: CC BY 4.0" in text
        pairs.update({sentence: intent for intent, sentence in datasets.read_rasa_yaml(tmp_path / name)})
    assert pairs == {
        "i want a refund please": "return_policy", "track order 1234": "check_order_status",  # Bitext training part
        "where is my parcel": "check_order_status", "how deep is the ocean": OUT_OF_SCOPE,  # CLINC150 train
        "who painted the mona lisa": OUT_OF_SCOPE, "train sentence": "greet",
        "good morning there": "greet", "turn on the kitchen lights": OUT_OF_SCOPE,  # MASSIVE dev
        "washa taa za jikoni": OUT_OF_SCOPE}
    # skipped: CLINC150 reservations, MASSIVE takeaway; "mambo yako" is our own already; no evaluation
    # sentence (Bitext's evaluation part, CLINC150 val/test, MASSIVE test) is taken
    evaluation = datasets.overlap_sets(external, tmp_path / "none", None, None)
    assert overlap.find_overlaps([("public", text) for text in pairs], evaluation) == []


def test_import_drops_a_candidate_that_nearly_copies_an_evaluation_sentence(tmp_path: Path, external: Path):
    rows = [json.loads(line) for line in (external / "massive" / "en-US_test.jsonl").read_text().splitlines()]
    rows.append({"id": "9", "locale": "en-US", "intent": "iot_hue_lighton", "utt": "turn the kitchen lights on"})
    write_jsonl(external / "massive" / "en-US_test.jsonl", rows)
    files = import_public_training.build(external, tmp_path / "out", tmp_path / "eval", tmp_path / "nlu")
    assert "turn on the kitchen lights" not in files["massive_en.yml"]
    assert "good morning there" in files["massive_en.yml"]


def test_import_check_fails_on_a_hand_edit(tmp_path: Path, external: Path, monkeypatch):
    out = tmp_path / "public"
    monkeypatch.setattr(import_public_training, "ROOT", tmp_path)
    args = ["--external", str(external), "--out", str(out)]
    assert import_public_training.main(args) == 0
    assert import_public_training.main([*args, "--check"]) == 0
    edited = out / "bitext_en.yml"
    edited.write_text(edited.read_text(encoding="utf-8") + "    - cancel my order now\n", encoding="utf-8")
    assert import_public_training.main([*args, "--check"]) == 1


def test_amounts_become_shillings_and_order_numbers_vary():
    assert import_public_training.shillings("reimburse $12 please") == "reimburse 1200 bob please"
    assert import_public_training.shillings("i paid 149 dollars") == "i paid 14900 bob"
    first = import_public_training.order_numbers("track order 00123842")
    assert first == import_public_training.order_numbers("track order 00123842")
    assert first != import_public_training.order_numbers("where is order 00123842")
    assert re.fullmatch(r"track order \d{4,5}", first)
