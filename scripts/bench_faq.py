"""FAQ answer latency through the HTTP layer (Flask test client, in process, no LLM): the demo
shop's knowledge base on a fresh SQLite database; p50/p95/p99 without the Redis cache (every
answer computed), the CPU time per answer (what it costs on uncontended cores) and resident memory
with the embedder loaded. JSON in bench/results/."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from evaluation.faq import QUESTIONS, demo_shop  # noqa: E402

from backend.kb.runtime import configure  # noqa: E402
from backend.kb.settings import KbSettings  # noqa: E402
from backend.seed.kb import seed_kb  # noqa: E402


def main() -> None:
    shop = demo_shop("bench")
    ctx, tenant = shop.ctx, shop.tenant_id
    kb = configure(ctx, KbSettings.from_env({**os.environ,
                                             "KB_INDEX_DIR": str(shop.work / "kb")}))
    seed_kb(ctx, tenant)
    data = yaml.safe_load(QUESTIONS.read_text())
    questions = [(i["q"], lang) for lang, items in data["answerable"].items() for i in items]
    questions += [(q, lang) for lang, items in data["unanswerable"].items() for q in items]
    client = shop.app.test_client()
    headers = {"Authorization": f"Bearer {shop.token}", "X-TENANT-ID": tenant}
    client.post("/v1/faq/answer", json={"question": "warm up"}, headers=headers)
    timings, cpu = [], []
    for question, language in questions * 2:
        started, started_cpu = time.perf_counter(), time.thread_time()
        response = client.post("/v1/faq/answer", json={"question": question,
                                                        "language": language}, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.get_json()
    timings.sort()
    cpu.sort()
    result = {
        "embedder": kb.embedder_key, "requests": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 1),
        # CPU time of the request's thread: what one answer costs when cores are not contended.
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(cpu[int(len(cpu) * 0.95) - 1], 1),
        "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    ctx.jobs.join(300)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faq.json").write_text(json.dumps(result, indent=2) + "\n")
    print("faq answer:", json.dumps(result))


if __name__ == "__main__":
    main()
