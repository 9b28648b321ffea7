"""`make import-public`: the public sets' TRAINING parts as Rasa NLU data under data/nlu/public/.

Only the parts MAPPING.md allows are read: CLINC150 `train`/`oos_train`, MASSIVE `dev` (en-US and
sw-KE) and Bitext's rows outside its evaluation part (instruction SHA-1 not divisible by 5). Labels
are mapped with the evaluation's own tables (scripts/evaluation/datasets.py, from MAPPING.md);
skipped labels are left out; every other label is an out_of_scope negative.

Small capped samples keep the data balanced against our own ~7,600 examples (and training time
close to what it was): CAPS below. A candidate is dropped when it is, or nearly is, an evaluation
sentence (the overlap check of `make eval`: public test parts, held-out, independent and FAQ sets),
or when our own data already has it. The draw is seeded by source, label and text, so the same
inputs always give the same files.

Usage: .venv-rasa/bin/python scripts/import_public_training.py [--external DIR] [--out DIR] [--check]
(PUBLIC_SETS_DIR or EVAL_EXTERNAL_DIR name the public sets' folder; EVAL_INDEPENDENT_DIR or
--independent independent sets not yet in eval/independent; --check exits 1 when the files are not
what the inputs give).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluation import datasets, overlap  # noqa: E402
from evaluation.datasets import OUT_OF_SCOPE, Example, map_label  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXTERNAL = (ROOT / "eval" / "external", Path("/work/shared/eval/external"))

# How many training rows each source label gives (per language). In-scope labels get enough to
# teach the public wording (Bitext's "ETA of order …", "reimbursement"); negatives are spread thin
# across many labels so that no single topic weighs much.
CAPS = {
    "bitext": {"track_order": 40, "get_refund": 40, "default": 25},
    "clinc150": {"order_status": 30, "oos": 60, "in_scope": 12, "negative": 1},
    "massive": {"general_greet": 10, "general_joke": 10, "negative_en": 2, "negative_sw": 4},
}
# Bitext writes amounts in dollars; our customers pay in shillings.
_HOW_ARE_YOU = re.compile(r"\bhow|\bare you\b|\bwhat'?s up\b|\byou doing\b", re.I)
_ORDER_NUMBER = re.compile(r"\b\d{7,}\b")
_DOLLARS = re.compile(r"\$\s?(\d+(?:[.,]\d+)?)|(\d+(?:[.,]\d+)?)\s?(?:dollars|dollar|usd|bucks)\b", re.I)


def default_external() -> Path:
    for name in ("PUBLIC_SETS_DIR", "EVAL_EXTERNAL_DIR"):
        if os.environ.get(name):
            return Path(os.environ[name])
    return next((path for path in DEFAULT_EXTERNAL if path.is_dir()), DEFAULT_EXTERNAL[0])


def rank(*parts: str) -> str:
    """A stable pseudo-random sort key: the same inputs always draw the same rows."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def order_numbers(text: str) -> str:
    """Bitext reuses five long order numbers ("00123842", "113542617735902"); a word model would
    learn those digits. Each becomes a shop-style 4-5 digit number drawn from the sentence."""
    return _ORDER_NUMBER.sub(lambda m: str(1000 + int(rank(text, m.group())[:8], 16) % 90000), text)


def shillings(text: str) -> str:
    """'reimburse $12' → 'reimburse 1200 bob': amounts as a Kenyan customer would write them."""
    def convert(match: re.Match) -> str:
        amount = float((match.group(1) or match.group(2)).replace(",", ""))
        return f"{int(round(amount * 100))} bob"
    return _DOLLARS.sub(convert, text)


def source_licence(external: Path, folder: str) -> str:
    """The licence line of a public set's SOURCE.txt."""
    text = (external / folder / "SOURCE.txt").read_text(encoding="utf-8")
    line = next((line for line in text.splitlines() if line.lower().startswith("licence")), "Licence: see SOURCE.txt")
    return line.split(":", 1)[1].strip()


# ---------------------------------------------------------------- candidates: (source label, our intent, text)

def bitext_candidates(external: Path) -> list[tuple[str, str, str]]:
    """Bitext's training rows (outside its evaluation part) of the mapped intents."""
    return [(row["intent"], datasets.BITEXT_MAP[row["intent"]], order_numbers(shillings(" ".join(row["instruction"].split()))))
            for row in datasets.bitext_rows(external)
            if row["intent"] in datasets.BITEXT_MAP and not datasets.bitext_is_eval(row["instruction"])]


def clinc_candidates(external: Path) -> list[tuple[str, str, str]]:
    """CLINC150's train rows, mapped. Its `greeting` includes "how are you doing": INTENTS.md calls
    that small_talk, and our own data says so, so those rows are not trained on as greet."""
    rows = []
    for text, label, _ in datasets.clinc_rows(external, datasets.CLINC_TRAIN_PARTS):
        mapped = map_label(datasets.CLINC_MAP, datasets.CLINC_SKIP, label)
        if mapped == "greet" and _HOW_ARE_YOU.search(text):
            continue
        if mapped:
            rows.append((label, mapped, text))
    return rows


def massive_candidates(external: Path, locale: str) -> list[tuple[str, str, str]]:
    rows = []
    for row in datasets.massive_rows(external, locale, datasets.MASSIVE_TRAIN_PART):
        mapped = map_label(datasets.MASSIVE_MAP, datasets.MASSIVE_SKIP, row["intent"], datasets.MASSIVE_SKIP_PREFIXES)
        if mapped:
            rows.append((row["intent"], mapped, row["utt"]))
    return rows


def cap_for(source: str, label: str, intent: str, lang: str) -> int:
    caps = CAPS[source]
    if label in caps:
        return caps[label]
    if source == "bitext":
        return caps["default"]
    if source == "clinc150":
        return caps["negative"] if intent == OUT_OF_SCOPE else caps["in_scope"]
    return caps[f"negative_{lang}"] if intent == OUT_OF_SCOPE else 0


def sample(source: str, lang: str, candidates: list[tuple[str, str, str]], banned: set[str]) -> list[tuple[str, str, str]]:
    """Up to the cap per source label, drawn by a stable hash; banned (normalised) texts and
    repeats skipped. Returns (source label, intent, text) sorted by intent, label, text."""
    by_label: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for row in candidates:
        by_label[row[0]].append(row)
    chosen, seen = [], set(banned)
    for label in sorted(by_label):
        rows = sorted(by_label[label], key=lambda row: rank(source, lang, row[0], row[2]))
        cap, taken = cap_for(source, label, rows[0][1], lang), 0
        for row in rows:
            key = overlap.normalise(row[2])
            if taken >= cap:
                break
            if not key or key in seen:
                continue
            seen.add(key)
            chosen.append(row)
            taken += 1
    return sorted(chosen, key=lambda row: (row[1], row[0], overlap.normalise(row[2])))


def evaluation_banned(candidates: list[str], external: Path, eval_root: Path,
                      independent: Path | None = None) -> set[str]:
    """Normalised candidates that copy or nearly copy an evaluation sentence (the overlap check's rule)."""
    evaluation = datasets.overlap_sets(external, eval_root / "heldout", independent or eval_root / "independent",
                                       eval_root / "faq")
    as_training = [(f"{e.set}/{e.part}", e.text) for e in evaluation]
    probes = [Example("public-training", "", text, "candidate", "", "train") for text in candidates]
    return {overlap.normalise(o.example.text) for o in overlap.find_overlaps(as_training, probes)}


def own_sentences(nlu_dir: Path, out: Path) -> set[str]:
    """Normalised sentences of our own data/nlu (everything but the generated folder)."""
    return {overlap.normalise(text) for path in sorted(nlu_dir.rglob("*.yml"))
            if out not in path.parents for _, text in datasets.read_rasa_yaml(path)}


# ---------------------------------------------------------------- output

def yaml_quote(text: str) -> str:
    """One example line: quoted when YAML or Rasa's entity markup could misread it."""
    text = text.replace("[", "(").replace("]", ")")
    if re.search(r"""^[-?:,{}#&*!|>'"%@`\s]|: | #|\s$""", text) or text.lower() in ("yes", "no", "null", "true", "false"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def render(rows: list[tuple[str, str, str]], header: list[str]) -> str:
    lines = [f"# {line}" if line else "#" for line in header] + ["", 'version: "3.1"', "", "nlu:"]
    by_intent: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        by_intent[row[1]].append(row)
    for intent in sorted(by_intent):
        labels = sorted({row[0] for row in by_intent[intent]})
        lines += [f"# {intent} <- {', '.join(labels)}" if len(labels) <= 12 else
                  f"# {intent} <- {len(labels)} labels of the source", f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {yaml_quote(row[2])}" for row in by_intent[intent]]
    return "\n".join(lines) + "\n"


def build(external: Path, out: Path, eval_root: Path = ROOT / "eval",
          nlu_dir: Path = ROOT / "data" / "nlu", independent: Path | None = None) -> dict[str, str]:
    """File name → content of every generated file."""
    sources = [
        ("bitext", "en", "bitext_customer_support", "bitext_en.yml", bitext_candidates(external),
         "Bitext customer support sample, rows whose instruction's SHA-1 is NOT divisible by 5 (the rest is "
         "its evaluation part); dollar amounts rewritten as shillings, its five long order numbers as "
         "varied 4-5 digit ones"),
        ("clinc150", "en", "clinc150", "clinc150_en.yml", clinc_candidates(external),
         "CLINC150 data_full.json, parts train and oos_train (val and test are evaluation only)"),
        ("massive", "en", "massive", "massive_en.yml", massive_candidates(external, "en-US"),
         "MASSIVE 1.1 en-US dev partition (test is evaluation only)"),
        ("massive", "sw", "massive", "massive_sw.yml", massive_candidates(external, "sw-KE"),
         "MASSIVE 1.1 sw-KE dev partition (test is evaluation only)"),
    ]
    every_text = sorted({row[2] for source in sources for row in source[4]})
    banned = evaluation_banned(every_text, external, eval_root, independent) | own_sentences(nlu_dir, out)
    files = {}
    for source, lang, folder, name, candidates, description in sources:
        rows = sample(source, lang, candidates, banned)
        banned |= {overlap.normalise(row[2]) for row in rows}  # no sentence under two files
        header = [
            f"GENERATED by scripts/import_public_training.py (make import-public): do not edit by hand.",
            f"Source: {description}.",
            f"Licence: {source_licence(external, folder)}; attribution in {folder}/SOURCE.txt of the public sets.",
            "Labels mapped as in MAPPING.md (scripts/evaluation/datasets.py); skipped labels left out; other labels",
            "are out_of_scope negatives. Capped per source label (CAPS in the script); sentences that copy or",
            "nearly copy an evaluation sentence, or that our own data already has, are dropped.",
            f"{len(rows)} examples of {len(candidates)} candidates.",
        ]
        files[name] = render(rows, header)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--external", type=Path, default=default_external(), help="the public sets' folder")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "nlu" / "public")
    parser.add_argument("--independent", type=Path, default=Path(os.environ["EVAL_INDEPENDENT_DIR"])
                        if os.environ.get("EVAL_INDEPENDENT_DIR") else None,
                        help="the independent sets when not (yet) in eval/independent: their sentences are excluded too")
    parser.add_argument("--check", action="store_true", help="exit 1 when the files differ from what the inputs give")
    args = parser.parse_args(argv)
    try:
        files = build(args.external, args.out.resolve(), independent=args.independent)
    except (datasets.DatasetError, OSError) as exc:
        print(f"import-public: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = [name for name, text in files.items()
                 if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != text]
        if stale:
            print(f"import-public: out of date: {', '.join(stale)} (run make import-public)", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"import-public: {args.out / name}: {text.count(chr(10) + '    - ')} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
