"""Load-test the running stack through the WhatsApp webhook and report latencies, throughput and memory."""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import requests

import _webhook as wh

# The served NLU's target: POST /model/parse answers within this at the 95th percentile.
PARSE_P95_TARGET_MS = 40.0

# A customer's side of a short shopping chat in English, Swahili and Sheng; conversations cycle it.
SCRIPT = [
    "Hi there",
    "what do you sell?",
    "2",
    "bei yake ni ngapi?",
    "asante sana",
    "niaje msee",
    "mko na sneakers?",
    "ya pili",
    "delivery ni ngapi to Rongai?",
    "thanks, bye",
]


@dataclass
class Sample:
    """One measured turn."""

    conversation: int
    turn: int
    text: str
    status: int | None
    webhook_ms: float | None
    reply_ms: float | None
    replies: int
    error: str | None


# ---------------------------------------------------------------- running conversations

def new_phones(count: int, rng: random.Random) -> list[str]:
    """Distinct random Kenyan mobile numbers (+2547…), so every conversation starts as a new customer."""
    phones: set[str] = set()
    while len(phones) < count:
        phones.add(f"+2547{rng.randrange(10**8):08d}")
    return sorted(phones)


def run_conversation(index: int, phones: list[str], turns: int, make_client,
                     args) -> tuple[list[Sample], float]:
    """Play `turns` messages of SCRIPT back to back, as customers typing quickly would: one new
    customer (phone) per pass through SCRIPT, since real conversations are short.

    The channel answers 200 once the turn is processed and its replies are queued, so the next
    message follows at once; reply latency is read afterwards from the simulator's timestamps.
    """
    client = make_client()
    samples: list[Sample] = []
    sessions = []
    for first in range(0, turns, len(SCRIPT)):
        phone = phones[first // len(SCRIPT)]
        after = client.last_message_id(phone)
        started: list[tuple[Sample, float]] = []
        for turn in range(first, min(turns, first + len(SCRIPT))):
            text = SCRIPT[turn % len(SCRIPT)]
            sample = Sample(index, turn, text, None, None, None, 0, None)
            try:
                result = client.post_message(phone, text, f"Bench {index}")
                sample.status, sample.webhook_ms = result.status, result.elapsed * 1000
                if result.ok:
                    started.append((sample, result.started_at))
                else:
                    sample.error = result.error
            except wh.StackError as exc:
                sample.error = str(exc)
            except (requests.RequestException, KeyError, ValueError) as exc:  # a broken answer fails the turn only
                sample.error = f"{type(exc).__name__}: {exc}"
            samples.append(sample)
        sessions.append((phone, after, started))
    posted = time.perf_counter()  # throughput counts the turns, not the wait for the last replies
    for phone, after, started in sessions:
        match_replies(client, phone, after, started, args)
    return samples, posted


def match_replies(client: wh.WebhookClient, phone: str, after: object,
                  started: list[tuple[Sample, float]], args) -> None:
    """Give each answered turn its reply latency; turns left without a reply become errors."""
    try:
        replies = client.wait_for_replies(phone, after, first_timeout=args.wait,
                                          quiet=args.quiet_ms / 1000, poll=args.poll_ms / 1000)
        messages = replies.messages
    except (wh.StackError, requests.RequestException) as exc:
        messages = []
        for sample, _ in started:
            sample.error = f"replies unreadable: {exc}"
        return
    if not started:
        return
    per_turn, extra = divmod(len(messages), len(started))
    if per_turn == 0 or extra:
        for sample, _ in started:
            sample.error = f"{len(messages)} replies for {len(started)} turns: cannot match them"
        return
    for k, (sample, start) in enumerate(started):
        sample.replies = per_turn
        first = messages[k * per_turn]
        sample.reply_ms = (wh.parse_timestamp(first["created_at"]) - start) * 1000


def run_load(turns: int, conversations: int, make_client, args, rng: random.Random) -> tuple[list[Sample], float]:
    """All conversations at once; returns the samples (ordered) and the wall time in seconds."""
    conversations = max(1, min(conversations, turns)) if turns else 0
    if not conversations:
        return [], 0.0
    shares = [turns // conversations + (1 if i < turns % conversations else 0) for i in range(conversations)]
    per_conversation = -(-max(shares) // len(SCRIPT))
    phones = new_phones(conversations * per_conversation, rng)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        futures = [pool.submit(run_conversation, i,
                               phones[i * per_conversation:(i + 1) * per_conversation], shares[i],
                               make_client, args)
                   for i in range(conversations)]
        results = [future.result() for future in futures]
    samples = [sample for own, _ in results for sample in own]
    return samples, max(posted for _, posted in results) - start


def measure_parse(client: wh.WebhookClient, calls: int) -> list[float]:
    """Milliseconds of `calls` sequential POST /model/parse over the script's texts."""
    timings = []
    for i in range(calls):
        start = time.perf_counter()
        client.parse(SCRIPT[i % len(SCRIPT)])
        timings.append((time.perf_counter() - start) * 1000)
    return timings


# ---------------------------------------------------------------- statistics

def percentile(values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile (as numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(values: list[float], pcts=(50, 95, 99)) -> dict:
    """p50/p95/p99/max/mean in milliseconds, rounded to 0.1."""
    summary = {f"p{p}": percentile(values, p) for p in pcts}
    summary["max"] = max(values) if values else None
    summary["mean"] = sum(values) / len(values) if values else None
    summary = {key: (round(value, 1) if value is not None else None) for key, value in summary.items()}
    summary["n"] = len(values)
    return summary


# ---------------------------------------------------------------- memory from /proc

def children_map(proc: Path = Path("/proc")) -> dict[int, list[int]]:
    """Parent pid → child pids, for every process visible in /proc."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name is in parentheses and may hold spaces: the fields after it are fixed.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    """pid and all its descendants."""
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def read_kb(path: Path, key: str) -> int | None:
    """The value in kB of a 'Key:   123 kB' line of a /proc file, None when absent or unreadable."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_report(pid_dir: Path, proc: Path = Path("/proc")) -> dict:
    """VmRSS (and PSS, which does not count shared pages twice) of each var/run/<name>.pid tree, plus a total."""
    report: dict[str, dict] = {}
    children = children_map(proc)
    for pid_file in sorted(pid_dir.glob("*.pid")):
        name = pid_file.stem
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            report[name] = {"pid": None, "running": False, "error": f"unreadable {pid_file}"}
            continue
        if not (proc / str(pid)).exists():
            report[name] = {"pid": pid, "running": False}
            continue
        tree = process_tree(pid, children)
        rss = [read_kb(proc / str(p) / "status", "VmRSS") for p in tree]
        pss = [read_kb(proc / str(p) / "smaps_rollup", "Pss") for p in tree]
        report[name] = {
            "pid": pid, "running": True, "processes": len(tree),
            "rss_kb": sum(v for v in rss if v is not None),
            "pss_kb": sum(pss) if all(v is not None for v in pss) else None,
        }
    running = [entry for entry in report.values() if entry.get("running")]
    pss_all = [entry["pss_kb"] for entry in running]
    report["total"] = {
        "processes": sum(entry["processes"] for entry in running),
        "rss_kb": sum(entry["rss_kb"] for entry in running),
        "pss_kb": sum(pss_all) if pss_all and all(v is not None for v in pss_all) else None,
    }
    return report


# ---------------------------------------------------------------- output

def mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:,.0f} MB"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def render(result: dict) -> str:
    """The human-readable table."""
    lines = [f"{result['turns']} turns over {result['conversations']} conversations in {result['wall_s']:.1f} s: "
             f"{result['turns_per_s']:.2f} turns/s, {result['errors']} errors",
             "",
             f"{'latency (ms)':<28}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"]
    rows = [("webhook POST -> 200", result["webhook_ms"]),
            ("webhook POST -> first reply", result["reply_ms"]),
            (f"/model/parse (x{result['parse_ms']['n']})", result["parse_ms"])]
    for label, stats in rows:
        lines.append(f"{label:<28}" + "".join(f"{ms(stats.get(k)):>9}" for k in ("p50", "p95", "p99", "max")))
    parse_p95 = result["parse_ms"].get("p95")
    if parse_p95 is not None:
        verdict = "PASS" if parse_p95 <= PARSE_P95_TARGET_MS else "FAIL"
        lines.append(f"/model/parse p95 {parse_p95:,.1f} ms, target <= {PARSE_P95_TARGET_MS:.0f} ms: {verdict}")
    lines += ["", f"{'memory':<28}{'procs':>9}{'RSS':>11}{'PSS':>11}"]
    if len(result["memory"]) == 1:
        lines.append("  (no <name>.pid files found: memory not measured)")
    for name, entry in result["memory"].items():
        if name != "total" and not entry.get("running"):
            lines.append(f"{name:<28}{'not running':>31}")
            continue
        lines.append(f"{name:<28}{entry['processes']:>9}{mb(entry['rss_kb']):>11}{mb(entry['pss_kb']):>11}")
    if result["error_samples"]:
        lines += ["", "errors (first few):"] + [f"  {e}" for e in result["error_samples"]]
    return "\n".join(lines)


def write_result(result: dict, out_dir: Path) -> Path:
    """bench/results/<UTC timestamp>.json (a suffix when two runs share a second)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path, n = out_dir / f"{stamp}.json", 1
    while path.exists():
        n += 1
        path = out_dir / f"{stamp}-{n}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark the running stack (`make up`) as WhatsApp customers: concurrent conversations, "
                    "each a new phone, post signed webhooks to rasa and wait for the replies the worker "
                    "delivers to the backend's Twilio simulator. Prints a table, writes JSON to "
                    "bench/results/<UTC time>.json and exits 1 when any turn failed.")
    parser.add_argument("--turns", type=int, default=200, help="measured turns in all (default 200)")
    parser.add_argument("--conversations", type=int, default=8, help="concurrent conversations (default 8)")
    parser.add_argument("--warmup", type=int, default=10, help="turns run first and not measured (default 10)")
    parser.add_argument("--parse-calls", type=int, default=100,
                        help="sequential POST /model/parse calls timed on their own (default 100)")
    parser.add_argument("--wait", type=float, default=15.0,
                        help="seconds to wait for a turn's first reply (default 15)")
    parser.add_argument("--quiet-ms", type=int, default=400,
                        help="a turn's replies are complete after this long without a new one (default 400)")
    parser.add_argument("--poll-ms", type=int, default=200, help="how often to poll for replies (default 200)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a webhook POST gives up (default 60)")
    parser.add_argument("--seed", type=int, help="random seed for the customers' phone numbers")
    parser.add_argument("--out", type=Path, default=wh.ROOT / "bench" / "results",
                        help="directory for the JSON result (default bench/results)")
    parser.add_argument("--pid-dir", type=Path, default=wh.var_dir() / "run",
                        help="where the stack's <name>.pid files are (default $VAR_DIR/run, var/run)")
    wh.add_stack_arguments(parser)
    return parser


def preflight(client: wh.WebhookClient, args) -> str:
    """Fail early, with what to do, when a part of the stack is missing."""
    version = client.rasa_version()
    client.last_message_id(wh.DEFAULT_PHONE)  # backend up, sandbox on, service token accepted
    if args.parse_calls:
        client.parse("hello")
    return version


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.turns < 1 or args.conversations < 1 or args.warmup < 0 or args.parse_calls < 0:
        print("bench: --turns and --conversations must be positive, --warmup and --parse-calls not negative",
              file=sys.stderr)
        return 2
    settings = wh.Settings.load(args.rasa_url, args.backend_url)

    def make_client() -> wh.WebhookClient:
        return wh.WebhookClient(settings, args.token, args.to, public_url=args.public_url, timeout=args.timeout)

    rng = random.Random(args.seed)
    client = make_client()
    try:
        version = preflight(client, args)
        print(f"{version} at {settings.rasa_url}; backend at {settings.backend_url}", flush=True)
        if args.warmup:
            print(f"warming up: {args.warmup} turns ...", flush=True)
            warm, _ = run_load(args.warmup, args.conversations, make_client, args, rng)
            failed = [s for s in warm if s.error]
            if failed:
                print(f"  {len(failed)} warm-up turns failed, e.g. {failed[0].error}", file=sys.stderr, flush=True)
        print(f"measuring: {args.turns} turns over {args.conversations} conversations ...", flush=True)
        started_at = datetime.now(timezone.utc).isoformat()
        samples, wall = run_load(args.turns, args.conversations, make_client, args, rng)
        print(f"timing /model/parse: {args.parse_calls} calls ...", flush=True)
        parse_ms = measure_parse(client, args.parse_calls)
    except wh.StackError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted, nothing written", file=sys.stderr)
        return 130

    errors = [s for s in samples if s.error]
    result = {
        "started_at": started_at,
        "rasa": version,
        "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "settings": {"rasa_url": settings.rasa_url, "backend_url": settings.backend_url, "to": client.to,
                     "warmup": args.warmup, "wait_s": args.wait, "quiet_ms": args.quiet_ms,
                     "poll_ms": args.poll_ms, "script": SCRIPT},
        "turns": len(samples),
        "conversations": min(args.conversations, args.turns),
        "errors": len(errors),
        "error_samples": [f"conversation {s.conversation} turn {s.turn} ({s.text!r}): {s.error}" for s in errors[:5]],
        "wall_s": round(wall, 3),
        "turns_per_s": round(len(samples) / wall, 3) if wall else 0.0,
        "webhook_ms": summarise([s.webhook_ms for s in samples if s.webhook_ms is not None]),
        "reply_ms": summarise([s.reply_ms for s in samples if s.reply_ms is not None]),
        "parse_ms": summarise(parse_ms, pcts=(50, 95)),
        "memory": memory_report(args.pid_dir),
        "samples": [asdict(s) for s in samples],
    }
    print()
    print(render(result))
    path = write_result(result, args.out)
    print(f"\nwritten to {path}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
