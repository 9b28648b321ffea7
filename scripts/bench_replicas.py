"""Throughput and latency through the production profile's load balancer with 1..N rasa replicas,
and the CPU each process spends per turn.

Runs against a stack started with `make up PROFILE=prod REPLICAS=N` (its VAR_DIR and ports from the
environment, as scripts/env.sh sets them). For each count in --replicas it leaves that many rasa and
action servers in HAProxy's rotation (the others are put in maintenance through HAProxy's admin
socket: they keep their memory but get no turn), runs scripts/bench.py through the load balancer
and reads, from /proc, the CPU time of every process of each supervised group (a replica with what
it started; PostgreSQL with its backends, those of closed connections too; gunicorn with its
workers) before and after. The bench
client runs on the same cores.

  .venv/bin/python scripts/bench_replicas.py --replicas 1,2 --turns 120 --conversations 8

Prints a table and writes bench/results/replicas-<UTC time>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def run_dir() -> Path:
    return Path(os.environ.get("VAR_DIR") or ROOT / "var") / "run"


def haproxy(command: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(run_dir() / "haproxy.sock"))
        s.sendall(command.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def servers() -> Dict[str, str]:
    """{backend/server: status} of the rasa and actions backends."""
    lines = haproxy("show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
    return {f"{r['pxname']}/{r['svname']}": r["status"] for r in rows
            if r["pxname"] in ("rasa", "actions") and r["svname"] not in ("FRONTEND", "BACKEND")}


def use_replicas(count: int) -> None:
    """rasa-1..count and actions-1..count in rotation, the others in maintenance."""
    for name in servers():
        number = int(name.rsplit("-", 1)[1])
        haproxy(f"{'enable' if number <= count else 'disable'} server {name}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = servers()
        if all(s.startswith("UP") == (int(n.rsplit("-", 1)[1]) <= count) for n, s in state.items()):
            return
        time.sleep(0.5)
    raise SystemExit(f"bench_replicas: HAProxy did not reach {count} replica(s): {servers()}")


def group_cpu_seconds() -> Dict[str, float]:
    """CPU seconds (user + system) of each supervised process tree, by kind (rasa-1 and rasa-2
    count as rasa): every live process under the supervisor, and the processes they reaped (their
    children's times), such as PostgreSQL's backends of closed connections."""
    stats: Dict[int, List[str]] = {}
    children: Dict[int, List[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children[int(fields[1])].append(int(entry.name))  # ppid
    totals: Dict[str, float] = defaultdict(float)
    for pid_file in run_dir().glob("*.pid"):
        try:
            todo = [int(pid_file.read_text())]
        except ValueError:
            continue
        kind = re.sub(r"-\d+$", "", pid_file.stem)
        while todo:
            pid = todo.pop()
            fields = stats.get(pid)
            if fields:  # utime, stime, cutime, cstime
                totals[kind] += sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
            todo += children.get(pid, [])
    return dict(totals)


def bench(args: argparse.Namespace, out: Path) -> dict:
    before = group_cpu_seconds()
    started = time.monotonic()
    command = [sys.executable, str(ROOT / "scripts" / "bench.py"), "--turns", str(args.turns),
               "--conversations", str(args.conversations), "--warmup", str(args.warmup),
               "--parse-calls", "0", "--out", str(out), "--pid-dir", str(run_dir())]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    after = group_cpu_seconds()
    files = sorted(out.glob("*.json"))
    if not files:
        raise SystemExit(f"bench_replicas: bench.py wrote nothing:\n{done.stdout}\n{done.stderr}")
    result = json.loads(files[-1].read_text())
    files[-1].unlink()
    turns = result["turns"] + args.warmup
    cpu = {kind: round((after.get(kind, 0.0) - before.get(kind, 0.0)) * 1000 / turns, 1)
           for kind in sorted(after)}
    total = sum(cpu.values())
    return {"turns": result["turns"], "errors": result["errors"],
            "error_samples": result["error_samples"], "turns_per_s": result["turns_per_s"],
            "webhook_ms": result["webhook_ms"], "reply_ms": result["reply_ms"],
            "cpu_ms_per_turn": cpu, "cpu_ms_per_turn_total": round(total, 1),
            # One more core, all of it turns: 1000 ms / the CPU a turn costs in all processes.
            "projected_turns_per_s_per_core": round(1000 / total, 1) if total else None,
            "wall_s": round(elapsed, 1)}


def render(rows: Dict[int, dict]) -> str:
    kinds = sorted({k for r in rows.values() for k in r["cpu_ms_per_turn"]})
    lines = ["replicas  turns/s  webhook p50/p95/p99 ms   reply p50/p95/p99 ms   errors  "
             "CPU ms/turn: " + " ".join(kinds) + "  total  turns/s per core"]
    for count, r in rows.items():
        w, p = r["webhook_ms"], r["reply_ms"]
        lines.append(
            f"{count:>8}  {r['turns_per_s']:>7.1f}  {w.get('p50')}/{w.get('p95')}/{w.get('p99')}"
            f"{'':>6}{p.get('p50')}/{p.get('p95')}/{p.get('p99')}{'':>6}{r['errors']:>3}  "
            + " ".join(str(r["cpu_ms_per_turn"].get(k)) for k in kinds)
            + f"  {r['cpu_ms_per_turn_total']}  {r['projected_turns_per_s_per_core']}")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2", help="replica counts to measure (default 1,2)")
    parser.add_argument("--turns", type=int, default=120)
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.replicas.split(",")]
    available = len([n for n in servers() if n.startswith("rasa/")])
    if max(counts) > available:
        print(f"bench_replicas: the stack runs {available} rasa replica(s); start it with "
              f"REPLICAS={max(counts)}", file=sys.stderr)
        return 2
    rows: Dict[int, dict] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for count in counts:
                use_replicas(count)
                print(f"{count} replica(s): {args.turns} turns over {args.conversations} "
                      "conversations ...", flush=True)
                rows[count] = bench(args, Path(tmp))
    finally:
        use_replicas(available)
    print(render(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"replicas-{stamp}.json"
    path.write_text(json.dumps({"started_at": stamp, "cpus": os.cpu_count(),
                                "load_before": os.getloadavg(), "runs": rows}, indent=2))
    print(f"written to {path}")
    return 1 if any(r["errors"] for r in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
