"""`make eval`: score the trained NLU on our held-out split and on public sets.

1. Loads the sets (labels mapped to our intents) and checks that no evaluation sentence is a
   training sentence or a near copy of one (every evaluation sentence, whatever EVAL_SETS says:
   held-out, independent, FAQ questions, the public evaluation parts); any overlap is printed and
   ends the run (exit 3) before anything is parsed.
2. Parses every sentence with the model in-process (run with .venv-rasa/bin/python, PYTHONPATH=.).
3. Scores per set and language, the held-out split per intent, a fallback threshold sweep,
   language detection and single-parse latency.
4. Writes eval/results/nlu.json, eval/results/summary.md and eval/results/predictions.jsonl.

Exit status: 0 done (targets missed or not), 1 a target missed under EVAL_STRICT=1, 2 an error
(no model, unreadable set), 3 overlap between training and evaluation sentences.
Environment (each also an option): EVAL_SETS=heldout,clinc150,… EVAL_LIMIT=N MODEL=path
EVAL_STRICT=1 EVAL_EXTERNAL_DIR=dir (the public sets) EVAL_INDEPENDENT_DIR=dir (eval/independent).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from evaluation import datasets, overlap, report, scoring
from evaluation.datasets import DatasetError, Example

ROOT = Path(__file__).resolve().parents[1]
# The public sets with their MAPPING.md: in the repository when vendored there, else the shared copy.
EXTERNAL_CANDIDATES = (ROOT / "eval" / "external", Path("/work/shared/eval/external"))
SWEEP = [round(0.3 + 0.05 * i, 2) for i in range(11)]  # 0.30 … 0.80
ACTION_SWEEP = [round(0.4 + 0.05 * i, 2) for i in range(12)]  # 0.40 … 0.95


def default_external() -> Path:
    if os.environ.get("EVAL_EXTERNAL_DIR"):
        return Path(os.environ["EVAL_EXTERNAL_DIR"])
    return next((path for path in EXTERNAL_CANDIDATES if path.is_dir()), EXTERNAL_CANDIDATES[0])


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=env("EVAL_SETS", ""),
                        help=f"comma-separated sets (default all: {', '.join(datasets.ALL_SETS)})")
    parser.add_argument("--limit", type=int, default=env("EVAL_LIMIT") or "0",  # argparse converts it
                        help="at most N sentences per set and language, a fixed random draw (0: all)")
    parser.add_argument("--model", type=Path, default=Path(env("MODEL") or ROOT / "models" / "assistant.tar.gz"))
    parser.add_argument("--strict", action="store_true", default=env("EVAL_STRICT", "") not in ("", "0"),
                        help="exit 1 when a target is missed")
    parser.add_argument("--external", type=Path, default=default_external(), help="the public sets' folder")
    parser.add_argument("--heldout", type=Path, default=ROOT / "eval" / "heldout")
    parser.add_argument("--independent", type=Path, default=Path(env("EVAL_INDEPENDENT_DIR") or ROOT / "eval" / "independent"),
                        help="independently written sets: <dir>/intents/{dev,test}/<lang>.yml")
    parser.add_argument("--faq", type=Path, default=ROOT / "eval" / "faq",
                        help="FAQ evaluation questions (checked for overlap only)")
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="training data checked for overlap")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results")
    parser.add_argument("--latency-samples", type=int, default=300,
                        help="sentences parsed one at a time for the latency figures (default 300)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--drop-overlaps", action="store_true",
                        help="diagnosis while the data is being fixed: score without the overlapping sentences "
                             "(listed in the results) instead of stopping; the exit status stays 3")
    parser.add_argument("--overlap-only", action="store_true",
                        help="only the overlap check (no model needed): for whoever edits data/ or eval/heldout")
    return parser


def newer_inputs(model: Path) -> list[str]:
    """The training inputs (as scripts/train.sh hashes them) modified after the model file was written."""
    trained = model.stat().st_mtime
    paths = [ROOT / "config.yml", ROOT / "domain.yml"]
    for folder, patterns in ((ROOT / "data", ("*.yml",)), (ROOT / "bot" / "components", ("*.py", "*.yml"))):
        paths += [path for pattern in patterns for path in folder.rglob(pattern) if "__pycache__" not in path.parts]
    return sorted(str(path.relative_to(ROOT)) for path in paths if path.is_file() and path.stat().st_mtime > trained)


def check_overlap(training: list[tuple[str, str]], examples: list[Example]) -> dict:
    found = overlap.find_overlaps(training, examples)
    duplicates = overlap.heldout_public_duplicates(examples)
    return {
        "training_sentences": len(training),
        "evaluation_sentences": len(examples),
        "overlaps": [{"set": o.example.set, "lang": o.example.lang, "part": o.example.part, "text": o.example.text,
                      "training_file": o.training_file, "training_text": o.training_text, "kind": o.kind,
                      "similarity": o.similarity} for o in found],
        "heldout_public_duplicates": [{"text": h.text, "heldout_part": h.part, "public_set": p.set,
                                       "public_text": p.text} for h, p in duplicates],
        "_found": found,
    }


def spread(items: list, count: int) -> list:
    """`count` items evenly spaced through `items` (all when there are fewer)."""
    if count <= 0:
        return []
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def score_all(examples: list[Example], predictions: list[scoring.Prediction]) -> dict:
    served = [p.intent for p in predictions]
    result: dict = {"sets": {}}
    for name, indices in scoring.group_by(examples, lambda e: e.set).items():
        entry = {"all": scoring.score_group([examples[i] for i in indices], [served[i] for i in indices], top=15),
                 "by_language": {}}
        for lang, sub in sorted(scoring.group_by([examples[i] for i in indices], lambda e: e.lang).items()):
            chosen = [indices[i] for i in sub]
            entry["by_language"][lang] = scoring.score_group([examples[i] for i in chosen],
                                                             [served[i] for i in chosen], top=10)
        result["sets"][name] = entry

    public = [i for i, e in enumerate(examples) if e.set not in datasets.OWN_SETS]
    result["public_by_language"] = {
        lang: scoring.score_group([examples[public[i]] for i in sub], [served[public[i]] for i in sub], top=10)
        for lang, sub in sorted(scoring.group_by([examples[i] for i in public], lambda e: e.lang).items())}
    negatives = [served[i] for i in public if examples[i].kind == datasets.NEGATIVE]
    result["public_negatives"] = {"n_oos": len(negatives), "oos_accuracy": scoring.oos_accuracy(negatives),
                                  "false_action_rate": scoring.false_action_rate(negatives),
                                  "false_actions": sum(p in scoring.ACTION_INTENTS for p in negatives)}

    held = [i for i, e in enumerate(examples) if e.set == datasets.HELDOUT]
    per_intent = {}
    if held:
        per_intent["all"] = scoring.per_label([examples[i].label for i in held], [served[i] for i in held])
        for lang in sorted({examples[i].lang for i in held}):
            mine = [i for i in held if examples[i].lang == lang]
            per_intent[lang] = scoring.per_label([examples[i].label for i in mine], [served[i] for i in mine])
    result["heldout_per_intent"] = per_intent
    result["own_sets"] = {name: own_set_scores([examples[i] for i in indices], [served[i] for i in indices])
                          for name, indices in scoring.group_by(examples, lambda e: e.set).items()
                          if name in datasets.OWN_SETS}
    result["heldout_errors"] = [
        {"lang": examples[i].lang, "part": examples[i].part, "text": examples[i].text, "label": examples[i].label,
         "predicted": predictions[i].intent, "confidence": round(predictions[i].confidence, 4),
         "raw_intent": predictions[i].raw_intent, "raw_confidence": round(predictions[i].raw_confidence, 4)}
        for i in held if predictions[i].intent != examples[i].label]

    detection = {}
    held_langs = [(examples[i].lang, predictions[i].language) for i in held]
    if held_langs:
        detection["heldout"] = scoring.language_accuracy([t for t, _ in held_langs], [d for _, d in held_langs])
    massive = [(examples[i].lang, predictions[i].language) for i in public if examples[i].set == "massive"]
    if massive:
        detection["massive"] = scoring.language_accuracy([t for t, _ in massive], [d for _, d in massive])
    result["language_detection"] = detection
    return result


def own_set_scores(examples: list[Example], served: list[str | None]) -> dict:
    """Per-intent F1 per language and the worst confusion pairs of one of our own sets."""
    by_language = {}
    for lang, indices in sorted(scoring.group_by(examples, lambda e: e.lang).items()):
        by_language[lang] = scoring.per_label([examples[i].label for i in indices], [served[i] for i in indices])
    return {"per_intent": {"all": scoring.per_label([e.label for e in examples], served), **by_language},
            "confusions": scoring.confusions(examples, served, top=15)}


def write_outputs(out: Path, result: dict, examples: list[Example], predictions: list[scoring.Prediction]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlu.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(report.render_summary(result), encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for example, prediction in zip(examples, predictions):
            row = {**asdict(example), "predicted": prediction.intent, "confidence": round(prediction.confidence, 4),
                   "raw_intent": prediction.raw_intent, "raw_confidence": round(prediction.raw_confidence, 4),
                   "language": prediction.language, "correct": scoring.is_correct(example, prediction.intent)}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        names = datasets.parse_set_names(args.sets)
    except ValueError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    if args.limit < 0:
        print("eval: EVAL_LIMIT must not be negative", file=sys.stderr)
        return 2

    # 1. sets and the overlap check, before the model is even loaded
    try:
        all_examples = datasets.load_sets(names, args.external, args.heldout, args.independent)
        every_evaluation = datasets.overlap_sets(args.external, args.heldout, args.independent, args.faq)
        training = datasets.training_sentences(args.data)
    except DatasetError as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    for name in set(names) & set(datasets.INDEPENDENT_SETS):
        if not any(e.set == name for e in all_examples):
            print(f"eval: warning: no {name} sentences in {args.independent}/intents", file=sys.stderr)
    checked = check_overlap(training, every_evaluation)  # every sentence, whatever EVAL_SETS/EVAL_LIMIT say
    found = checked.pop("_found")
    if found:
        print(f"eval: {len(found)} evaluation sentences are also training sentences or near copies (data/); remove them "
              "from the training data (or, for our own, from eval/heldout):", file=sys.stderr)
        print("\n".join(overlap.describe(found)), file=sys.stderr)
        if not args.drop_overlaps or args.overlap_only:
            return 3
        print(f"eval: --drop-overlaps: scoring without these {len(found)} sentences; the run still fails (exit 3)",
              file=sys.stderr)
        dropped = {(o.example.set, o.example.text) for o in found}
        all_examples = [e for e in all_examples if (e.set, e.text) not in dropped]
    overlap_s = time.perf_counter() - started
    duplicates = checked["heldout_public_duplicates"]
    if duplicates:
        print(f"eval: warning: {len(duplicates)} held-out sentences also occur in a public set (a held-out "
              f"sentence should be our own): " + ", ".join(repr(d["text"]) for d in duplicates[:10]),
              file=sys.stderr)
    if args.overlap_only:
        print(f"eval: no overlap between {len(training)} training sentences and {len(every_evaluation)} evaluation "
              f"sentences (every set, FAQ questions included)")
        return 0
    if datasets.HELDOUT in names and not any(e.set == datasets.HELDOUT for e in all_examples):
        print(f"eval: warning: no held-out sentences in {args.heldout}", file=sys.stderr)
    examples = datasets.limit_examples(all_examples, args.limit)
    print(f"eval: {len(examples)} sentences from {', '.join(names)}; {len(training)} training sentences, "
          f"no overlap", flush=True)

    # 2. parse
    if not args.model.is_file():
        print(f"eval: no model at {args.model}: run `make train` (or set MODEL=path)", file=sys.stderr)
        return 2
    from evaluation import parsing  # rasa: only now

    print(f"eval: loading {args.model} ...", flush=True)
    parser = parsing.Parser(args.model)
    model = parser.describe()
    unique = list(dict.fromkeys(e.text for e in examples))
    print(f"eval: parsing {len(unique)} distinct sentences ...", flush=True)
    parse_started = time.perf_counter()
    parsed = dict(zip(unique, parser.parse_batch(unique, args.batch_size)))
    parse_s = time.perf_counter() - parse_started
    predictions = [parsing.to_prediction(parsed[e.text]) for e in examples]

    sample = spread(unique, args.latency_samples)
    print(f"eval: timing {len(sample)} single parses ...", flush=True)
    timings, singles = parser.time_single_parses(sample)
    single_predictions = [parsing.to_prediction(data) for data in singles]
    batch_predictions = [parsing.to_prediction(parsed[text]) for text in sample]
    parser.close()

    # 3. score
    result: dict = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "selection": {"sets": names, "limit": args.limit or None, "strict": args.strict,
                      "external_dir": str(args.external), "heldout_dir": str(args.heldout)},
        "model": model,
    }
    newer = newer_inputs(args.model)
    if newer:
        result["model_stale"] = (f"{len(newer)} training input files changed after the model was trained "
                                 f"(e.g. {', '.join(newer[:3])}): `make train` first to score the current data.")
        print(f"eval: warning: {result['model_stale']}", file=sys.stderr)
    result.update(score_all(examples, predictions))
    fallback = model["fallback"]
    ambiguity, action = fallback["ambiguity_threshold"], fallback.get("action_threshold")
    action_intents = fallback.get("action_intents") or scoring.ACTION_INTENTS
    result["threshold_sweep"] = {
        "served_threshold": fallback["threshold"], "ambiguity_threshold": ambiguity, "action_threshold": action,
        "served_agreement": None,
        "points": scoring.threshold_sweep(examples, predictions, SWEEP, ambiguity, action, action_intents),
        "action_points": [],
    }
    if fallback["threshold"] is not None:
        # The sweep reproduces the served decision: checked on every sentence.
        same = sum(scoring.with_fallback(p, fallback["threshold"], ambiguity, action, action_intents) == p.intent
                   for p in predictions)
        result["threshold_sweep"]["served_agreement"] = {"same": same, "n": len(predictions)}
        if action is not None:
            result["threshold_sweep"]["action_points"] = scoring.action_threshold_sweep(
                examples, predictions, fallback["threshold"], ambiguity, ACTION_SWEEP, action_intents)
    result["latency"] = {
        "single_parse_ms": report.latency_summary(timings),
        "batch_agreement": {
            "n": len(sample),
            "same_intent": sum(a.intent == b.intent for a, b in zip(single_predictions, batch_predictions)),
            "same_language": sum(a.language == b.language for a, b in zip(single_predictions, batch_predictions)),
            "max_confidence_difference": round(max((abs(a.confidence - b.confidence) for a, b in
                                                    zip(single_predictions, batch_predictions)), default=0.0), 6),
        },
    }
    result["overlap"] = checked
    result["overlap"]["dropped_from_scoring"] = len(found)
    result["timing"] = {
        "sentences": len(examples), "distinct_sentences": len(unique), "overlap_check_s": round(overlap_s, 2),
        "load_s": round(parser.load_s, 2), "parse_s": round(parse_s, 2),
        "ms_per_sentence_batched": round(1000 * parse_s / len(unique), 2) if unique else None,
        "total_s": round(time.perf_counter() - started, 2),
    }
    result["targets"] = report.targets(result)
    result["passed"] = all(t["pass"] for t in result["targets"])

    # 4. write
    write_outputs(args.out, result, examples, predictions)
    print()
    print(report.render_summary(result).split("\n## Scores by set")[0].strip())
    print(f"\neval: written to {args.out}/nlu.json, summary.md and predictions.jsonl "
          f"in {result['timing']['total_s']:.0f} s")
    if found:
        print(f"eval: {len(found)} overlapping sentences were left out; fix the data: this run does not count",
              file=sys.stderr)
        return 3
    if args.strict and not result["passed"]:
        print("eval: targets missed (EVAL_STRICT=1)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
