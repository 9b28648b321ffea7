"""Faults across replicas (issue 21): eight conversations run concurrently through the load
balancer of the production profile (REPLICAS=2) while one rasa replica is killed mid-turn, Redis is
killed (and restarted by its supervisor), PostgreSQL is restarted, the backend turns slow (it stalls
for 2 s at a time) and the whole stack is restarted replica by replica (`make restart`: each
replica drained in HAProxy first, so no turn may even need a retry meanwhile), then `make reload`
swaps the model into each replica in turn, drained the same way.

The client does what Twilio does: it signs each message for the load balancer's URL and, when the
webhook does not answer 200 (a 5xx, or no answer), posts the same MessageSid again. A customer
writes the next message once the previous one was answered. Afterwards:
- 0 turns lost: every MessageSid was finally answered 200 and has a reply stored by the backend;
- 0 answered twice: every MessageSid is in its conversation's tracker at most once, and Twilio (the
  sandbox) received exactly the replies the backend stored, each once;
- every tracker intact: read back through Rasa's HTTP API (behind the load balancer), each holds
  its conversation's messages in the order they were sent; a message missing from it was answered
  with the channel's trouble notice (kit/texts.yml channel.trouble: "we have your message"), the
  channel's documented answer when a turn could not run.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import psycopg
import requests

from _webhook import build_form, sign
from kit import texts
from tests.deploy.conftest import ROOT, ProdStack

DEMO_NUMBER = "+254700000001"
DEMO_TOKEN = "demo-twilio-auth-token"
CONVERSATIONS = int(os.environ.get("PROD_TEST_CONVERSATIONS", "8"))
STALL_SECONDS = 2.0  # the slow backend: each request arriving meanwhile waits up to this long
TURNS_BETWEEN_FAULTS = 2  # each conversation answers this many turns after each fault
SCRIPT = ["hi", "what do you sell?", "nataka viatu", "show me bags", "how much is delivery?",
          "asante", "niaje, mnauza nini?", "I want to order"]
GIVE_UP_SECONDS = 120  # Twilio's retries of one message, end to end
TROUBLE = set(texts.table("channel.trouble").values())


@dataclass
class Turn:
    sid: str
    body: str
    statuses: List[Optional[int]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def answered(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 200


@dataclass
class Conversation:
    phone: str
    turns: List[Turn] = field(default_factory=list)
    error: Optional[str] = None

    def answered(self) -> int:
        return sum(t.answered for t in self.turns)


def post_until_answered(stack: ProdStack, phone: str, turn: Turn) -> None:
    """Twilio's behaviour: the same MessageSid again after a 5xx or no answer (15 s)."""
    start = time.monotonic()
    delay = 0.5
    form = build_form(phone, DEMO_NUMBER, turn.body, "Mteja", "AC" + "0" * 32, turn.sid)
    headers = {"X-Twilio-Signature": sign(stack.webhook, form, DEMO_TOKEN)}
    while time.monotonic() - start < GIVE_UP_SECONDS:
        try:
            status: Optional[int] = requests.post(stack.webhook, data=form, headers=headers,
                                                  timeout=15).status_code
        except requests.RequestException:
            status = None
        turn.statuses.append(status)
        if status == 200:
            break
        assert status is None or status >= 500, f"{turn.sid}: answered {status}"
        time.sleep(delay)
        delay = min(delay * 2, 4)
    turn.seconds = time.monotonic() - start


def stored_replies(stack: ProdStack, sids: List[str]) -> Dict[str, List[str]]:
    """The replies the backend stored per inbound MessageSid (in_reply_to)."""
    with psycopg.connect(stack.dsn("assistant"), connect_timeout=3) as db:
        rows = db.execute("select in_reply_to, body from outbound_messages "
                          "where in_reply_to = any(%s) order by id", (sids,)).fetchall()
    found: Dict[str, List[str]] = {}
    for sid, body in rows:
        found.setdefault(sid, []).append(body)
    return found


def wait_for_reply(stack: ProdStack, sid: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if stored_replies(stack, [sid]):
                return
        except psycopg.Error:
            pass  # PostgreSQL is restarting
        time.sleep(0.2)


def converse(stack: ProdStack, conversation: Conversation, stop: threading.Event) -> None:
    try:
        i = 0
        while not stop.is_set():
            turn = Turn("SM" + uuid.uuid4().hex, SCRIPT[i % len(SCRIPT)])
            conversation.turns.append(turn)
            post_until_answered(stack, conversation.phone, turn)
            if not turn.answered:
                return
            wait_for_reply(stack, turn.sid)  # the customer reads the answer, then writes again
            i += 1
    except Exception as exc:  # reported by the test
        conversation.error = repr(exc)


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            if check():
                return time.monotonic() - start
        except (OSError, ValueError, requests.RequestException, psycopg.Error, StopIteration):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


def children_of(stack: ProdStack, name: str) -> List[int]:
    """The supervised process of NAME and what it started (its process group minus the supervisor)."""
    supervisor = int((stack.run_dir / f"{name}.pid").read_text())
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == supervisor and int(entry.name) != supervisor:
                members.append(int(entry.name))
    return members


def kill(stack: ProdStack, name: str, sig: int = signal.SIGKILL) -> int:
    victim = stack.child(name)
    targets = children_of(stack, name) if sig == signal.SIGKILL else [victim]
    for pid in targets:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return victim


def stall_backend_while(stack: ProdStack, work: Callable[[], None]) -> int:
    """Runs `work` while the backend's process group (its supervisor, gunicorn and gunicorn's
    workers) is stopped for STALL_SECONDS, continued for 0.3 s, stopped again...; the number of
    stalls. The group always ends continued."""
    group = int((stack.run_dir / "backend.pid").read_text())
    done = threading.Event()
    stalls = 0

    def stall() -> None:
        nonlocal stalls
        while not done.is_set():
            os.killpg(group, signal.SIGSTOP)
            stalls += 1
            try:
                done.wait(STALL_SECONDS)
            finally:
                os.killpg(group, signal.SIGCONT)
            time.sleep(0.3)

    staller = threading.Thread(target=stall, daemon=True)
    staller.start()
    try:
        work()
    finally:
        done.set()
        staller.join(timeout=STALL_SECONDS + 5)
        os.killpg(group, signal.SIGCONT)
    return stalls


def progress(conversations: List[Conversation]) -> List[int]:
    return [c.answered() for c in conversations]


def advance(conversations: List[Conversation], turns: int, seconds: float, what: str) -> None:
    """Every conversation answers `turns` more messages."""
    target = [n + turns for n in progress(conversations)]

    def done(c: Conversation, t: int) -> bool:
        gave_up = bool(c.turns) and c.turns[-1].seconds > 0 and not c.turns[-1].answered
        return c.answered() >= t or c.error is not None or gave_up
    wait_until(lambda: all(done(c, t) for c, t in zip(conversations, target)), seconds, what)


def tracker(stack: ProdStack, sender_id: str) -> dict:
    r = requests.get(f"{stack.rasa_url}/conversations/{sender_id}/tracker",
                     params={"token": stack.secrets["RASA_TOKEN"], "include_events": "ALL"},
                     timeout=30)
    r.raise_for_status()
    return r.json()


def test_replica_killed_redis_and_postgres_restarted_nothing_lost_or_doubled(prod_stack):
    stack = prod_stack
    started = time.monotonic()
    stop = threading.Event()
    conversations = [Conversation("+2547" + str(uuid.uuid4().int)[:8]) for _ in range(CONVERSATIONS)]
    threads = [threading.Thread(target=converse, args=(stack, c, stop), daemon=True)
               for c in conversations]
    for t in threads:
        t.start()
    timeline = []
    try:
        advance(conversations, TURNS_BETWEEN_FAULTS, 120, "turns before the faults")

        # 1. A rasa replica dies while it runs a turn (HAProxy shows a request on it).
        in_flight = False
        deadline = time.monotonic() + 20
        while not in_flight and time.monotonic() < deadline:
            in_flight = int(stack.server("rasa-1")["scur"] or 0) > 0
            time.sleep(0.005)
        killed = rasa_killed = kill(stack, "rasa-1")
        timeline.append(f"rasa-1 (pid {killed}) killed at {time.monotonic() - started:.1f} s, "
                        f"turn in flight: {in_flight}")
        wait_until(lambda: stack.server("rasa-1")["status"].startswith("DOWN"), 10,
                   "HAProxy marks rasa-1 down")
        advance(conversations, TURNS_BETWEEN_FAULTS, 150, "turns on the surviving replica")

        # 2. Redis dies (SIGKILL) and its supervisor starts it again from its AOF.
        killed = kill(stack, "redis")
        timeline.append(f"redis (pid {killed}) killed at {time.monotonic() - started:.1f} s")
        wait_until(lambda: stack.child("redis") != killed, 15, "Redis restarted")
        advance(conversations, TURNS_BETWEEN_FAULTS, 150, "turns after Redis restarted")

        # 3. PostgreSQL restarts (fast shutdown: open connections are closed), started again.
        killed = kill(stack, "postgres", signal.SIGINT)
        timeline.append(f"postgres (pid {killed}) restarted at {time.monotonic() - started:.1f} s")
        wait_until(lambda: stack.child("postgres") != killed, 30, "PostgreSQL restarted")
        advance(conversations, TURNS_BETWEEN_FAULTS, 150, "turns after PostgreSQL restarted")

        # 4. The backend is slow: its processes (gunicorn and its workers) stall for 2 s, run for
        # a moment, stall again, until every conversation has answered more turns.
        slow_start = time.monotonic()
        stalls = stall_backend_while(
            stack, lambda: advance(conversations, TURNS_BETWEEN_FAULTS, 240,
                                   "turns while the backend is slow"))
        timeline.append(f"backend slow (stalled {STALL_SECONDS:.0f} s at a time, {stalls} times) "
                        f"from {slow_start - started:.1f} s for {time.monotonic() - slow_start:.1f} s")

        # 5. A rolling restart of every process while the conversations go on.
        restart_start = time.monotonic()
        before = {id(t) for c in conversations for t in c.turns}
        restarted_names = ["actions-1", "actions-2", "rasa-1", "rasa-2", "worker-1", "worker-2",
                           "scheduler"]
        pids_before = {name: stack.child(name) for name in restarted_names}
        restart = subprocess.run(["scripts/stack.sh", "restart"], cwd=ROOT, env=stack.env,
                                 capture_output=True, text=True, timeout=900)
        timeline.append(f"rolling restart from {restart_start - started:.1f} s for "
                        f"{time.monotonic() - restart_start:.1f} s (exit {restart.returncode})")
        assert restart.returncode == 0, restart.stdout + restart.stderr
        assert all(stack.child(name) != pid for name, pid in pids_before.items()), restart.stdout
        advance(conversations, TURNS_BETWEEN_FAULTS, 150, "turns after the rolling restart")

        # 6. `make reload` swaps the model into each replica in turn, drained meanwhile.
        reload_start = time.monotonic()
        reload = subprocess.run(["scripts/reload.sh"], cwd=ROOT, env=stack.env,
                                capture_output=True, text=True, timeout=900)
        timeline.append(f"make reload from {reload_start - started:.1f} s for "
                        f"{time.monotonic() - reload_start:.1f} s (exit {reload.returncode})")
        assert reload.returncode == 0, reload.stdout + reload.stderr
        for i in range(1, 3):
            assert f"stack: rasa-{i} serves assistant.tar.gz" in reload.stdout, reload.stdout
        during_restart = [t for c in conversations for t in c.turns if id(t) not in before]
        advance(conversations, TURNS_BETWEEN_FAULTS, 150, "turns after the reload")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=GIVE_UP_SECONDS + 30)
    elapsed = time.monotonic() - started

    turns = [t for c in conversations for t in c.turns]
    retried = [t for t in turns if len(t.statuses) > 1]
    print(f"\n{len(conversations)} conversations, {len(turns)} turns in {elapsed:.0f} s; "
          f"{len(retried)} retried by the client: "
          + ", ".join(f"{t.sid[:8]} {t.statuses} {t.seconds:.1f} s" for t in retried))
    for line in timeline:
        print("  " + line)
    problems = [f"{c.phone[-4:]}: {c.error}" for c in conversations if c.error]

    # 0 lost: every message answered 200 (after Twilio-like retries) and a reply stored for it.
    problems += [f"{t.sid}: never answered 200 ({t.statuses})" for t in turns if not t.answered]
    sids = [t.sid for t in turns]
    replies = stored_replies(stack, sids)
    problems += [f"{sid}: answered 200 but no reply stored" for sid in sids if sid not in replies]

    # 0 answered twice, delivery: the sandbox (Twilio) received each stored reply exactly once.
    service = {"Authorization": f"Bearer {stack.secrets['SERVICE_TOKEN']}"}

    def delivered(phone: str) -> List[str]:
        r = requests.get(f"{stack.backend}/v1/sandbox/messages", params={"to": phone},
                         headers=service, timeout=10)
        r.raise_for_status()
        return [m["body"] for m in r.json()["results"]]

    for c in conversations:
        expected = Counter(b for t in c.turns for b in replies.get(t.sid, []))
        try:
            wait_until(lambda: Counter(delivered(c.phone)) == expected, 120,
                       "the stored replies delivered")
        except AssertionError:
            got = Counter(delivered(c.phone))
            problems.append(f"{c.phone[-4:]}: delivered {sum(got.values())} message(s), "
                            f"stored {sum(expected.values())}: extra {dict(got - expected)}, "
                            f"missing {dict(expected - got)}")
            missing = list((expected - got).keys())
            with psycopg.connect(stack.dsn("assistant"), connect_timeout=3) as db:
                rows = db.execute(
                    "select id, in_reply_to, status, attempts, error, created_at, updated_at "
                    "from outbound_messages where in_reply_to = any(%s) and body = any(%s)",
                    ([t.sid for t in c.turns], missing)).fetchall()
            problems += [f"  undelivered row {row}" for row in rows]

    # Trackers, read back through Rasa behind the load balancer.
    with psycopg.connect(stack.dsn("rasa"), connect_timeout=3) as db:
        rows = db.execute("select distinct sender_id, data from events where type_name = 'user'"
                          ).fetchall()
    sender_of = {}
    for sender_id, data in rows:
        sid = (json.loads(data).get("metadata") or {}).get("message_sid")
        if sid:
            sender_of[sid] = sender_id
    trouble = 0
    for c in conversations:
        senders = {sender_of[t.sid] for t in c.turns if t.sid in sender_of}
        assert len(senders) == 1, f"{c.phone[-4:]}: {len(senders)} trackers"
        events = tracker(stack, senders.pop())["events"]
        in_tracker = [(e.get("metadata") or {}).get("message_sid") for e in events
                      if e["event"] == "user"]
        counts = Counter(in_tracker)
        problems += [f"{sid}: {n} times in its tracker (answered twice)"
                     for sid, n in counts.items() if n > 1]
        sent = [t.sid for t in c.turns if t.sid in counts]
        if [s for s in in_tracker if s in set(sent)] != sent:
            problems.append(f"{c.phone[-4:]}: the tracker's messages are out of order")
        for t in c.turns:
            if t.sid not in counts:
                if set(replies.get(t.sid, [])) & TROUBLE:
                    trouble += 1
                else:
                    problems.append(f"{t.sid}: not in the tracker, and not answered with the "
                                    f"trouble notice ({t.statuses}: {replies.get(t.sid)})")
        bot_after_last = any(e["event"] == "bot" for e in events[
            max(i for i, e in enumerate(events) if e["event"] == "user"):])
        if not bot_after_last:
            problems.append(f"{c.phone[-4:]}: the tracker's last message has no bot reply")
    print(f"  {trouble} turn(s) answered with the trouble notice (not in the tracker)")

    # The killed replica came back by itself (its supervisor started a new process).
    restarted = stack.child("rasa-1")
    assert restarted != rasa_killed and Path(f"/proc/{restarted}").exists()

    # The rolling restart and the reload drain each replica before stopping it or swapping its
    # model: no turn sent meanwhile needed Twilio's retry.
    print(f"  {len(during_restart)} turn(s) sent during the rolling restart and the reload")
    problems += [f"{t.sid}: sent during the rolling restart or the reload, answered {t.statuses}"
                 for t in during_restart if t.statuses and t.statuses != [200]]
    assert during_restart, "no turn ran during the rolling restart"

    assert not problems, "\n".join(problems)
    assert all(len(c.turns) >= 7 * TURNS_BETWEEN_FAULTS for c in conversations)
