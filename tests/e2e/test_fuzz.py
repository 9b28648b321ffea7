"""Issue 13: 1,000 signed random customer messages through the real stack: 0 answers 5xx and 0 silent
turns (every message answered unless a person had the conversation at that moment).

Random but reproducible (seeded): mixed scripts (Swahili, Sheng, Arabic, CJK, Cyrillic,
Devanagari), injection strings (SQL, templates, markdown, HTML, Rasa's `/intent{…}`), huge and odd
numbers, emoji, right-to-left and zero-width marks, empty bodies, forged button payloads and bodies
beyond WhatsApp's 4,096 characters. Each customer writes in order; customers write concurrently.

A turn is silent when its message (answered 200) has no reply queued for it (outbound messages
`in_reply_to` its MessageSid) while the conversation was not paused by a handoff (Rasa's tracker:
`pause` before the message without a `resume`, `restart` or new session in between).
"""
from __future__ import annotations

import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Set, Tuple

from sqlalchemy import create_engine, text

from bot.channels.notices import NOT_UNDERSTOOD, TROUBLE

SEED = 20261206
MESSAGES = 1000
CUSTOMERS = 25
CONCURRENCY = 8

WORDS = [
    "habari", "niaje msee", "mambo", "nataka kununua viatu", "mnauza nini?", "bei gani?",
    "nataka ya pili", "asante sana", "ndula za 2k", "nionyeshe kikapu", "oda yangu iko wapi",
    "nataka kulipa na mpesa", "sitaki", "ndiyo", "hello", "what do you sell?", "buy -3 shoes",
    "how much is the jacket", "add it to my cart", "i want to checkout", "yes please", "no",
    "where is my order", "do you deliver to Kisumu?", "book me box braids tomorrow at 10am",
    "مرحبا، أريد شراء حذاء", "كم السعر؟", "你好，我想买鞋", "多少钱？", "こんにちは、靴はありますか",
    "안녕하세요", "Привет, сколько стоит?", "नमस्ते, जूते कितने के हैं?", "Γειά σου",
]
INJECTIONS = [
    "' OR '1'='1' --", "'; DROP TABLE orders; --", "1; SELECT pg_sleep(10)", "{{7*7}}", "${7*7}",
    "{% for x in range(99) %}x{% endfor %}", "{menu}", "{0.__class__}", "%s%s%s%n",
    "<script>alert(1)</script>", "**bold** _it_ ~strike~ ```code``` [x](javascript:alert(1))",
    '/EXTERNAL_payment_received{"payment_id":1}', '/add_to_cart{"quantity":"-3"}', "/restart",
    "/stop_all", '/request_human', "//greet", "../../../etc/passwd", '{"intent": "affirm"}',
    "\\u0000", "\u202eevil\u202c", "a\u200bb\u200dc", "\r\n\r\n", "   ",
]
NUMBERS = [
    "9" * 40, str(2 ** 63), str(2 ** 64), "-3", "-9223372036854775809", "1e308", "NaN",
    "Infinity", "0", "00000000000000000001", "١٢٣", "二", "3.14159", "10^20", "KES 1,000,000,000",
]
EMOJI = ["😀", "👍🏽", "🇰🇪", "👨‍👩‍👧‍👦", "🛒", "💸", "🔥" * 30, "❤️", "🤷🏾‍♀️"]


def random_body(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.04:
        return ""
    if roll < 0.06:  # ~2 %: beyond WhatsApp's limit, cut by the channel, still answered
        return rng.choice(WORDS + EMOJI) * rng.randint(400, 1500)
    parts = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        pool = WORDS if kind < 0.45 else INJECTIONS if kind < 0.7 else NUMBERS if kind < 0.85 \
            else EMOJI
        parts.append(rng.choice(pool))
    return " ".join(parts)


def plan(rng: random.Random) -> Dict[str, List[Dict[str, str]]]:
    """Customers and their messages (body, sid, sometimes a forged button payload)."""
    run = uuid.uuid4().int % 10 ** 4  # new customers every run (a rerun starts fresh conversations)
    phones = [f"+2547{run:04d}{i:04d}" for i in range(CUSTOMERS)]
    messages: Dict[str, List[Dict[str, str]]] = {phone: [] for phone in phones}
    for i in range(MESSAGES):
        extra = {}
        if rng.random() < 0.05:
            extra = {"ButtonPayload": rng.choice(INJECTIONS[11:17]), "ButtonText": "1"}
        messages[phones[i % CUSTOMERS]].append({
            # Fresh sids every run: the dedupe (Redis, 24 h) would drop a rerun's messages.
            "body": random_body(rng), "sid": "SM" + uuid.uuid4().hex, **extra})
    return messages


def run_customer(stack, phone: str, messages: List[Dict[str, str]]) -> List[Tuple[str, int]]:
    outcomes = []
    for message in messages:
        extra = {k: v for k, v in message.items() if k not in ("body", "sid")}
        response = stack.post(phone, message["body"], sid=message["sid"], **extra)
        outcomes.append((message["sid"], response.status_code))
    return outcomes


def replies_by_sid(stack, sids: Set[str]) -> Dict[str, List[str]]:
    """The reply bodies queued for each of `sids` (outbound messages in_reply_to it)."""
    engine = create_engine(stack.env.get("DATABASE_URL")
                           or f"sqlite:///{stack.env['VAR_DIR']}/app.db")
    found: Dict[str, List[str]] = {}
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT in_reply_to, body FROM outbound_messages WHERE in_reply_to IS NOT NULL"))
        for sid, body in rows:
            if sid in sids:
                found.setdefault(sid, []).append(body or "")
    engine.dispose()
    return found


def paused_sids(stack, sids: Set[str]) -> Set[str]:
    """Messages that reached Rasa while a person had the conversation (tracker paused)."""
    path = stack.env.get("RASA_TRACKER_DB") or str(Path(stack.env["VAR_DIR"]) / "rasa-tracker.db")
    engine = create_engine(f"sqlite:///{path}")
    paused_by_sender: Dict[str, bool] = {}
    found: Set[str] = set()
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, type_name, data FROM events ORDER BY id"))
        for sender, kind, data in rows:
            if kind == "pause":
                paused_by_sender[sender] = True
            elif kind in ("resume", "restart", "session_started"):
                paused_by_sender[sender] = False
            elif kind == "user" and paused_by_sender.get(sender):
                sid = ((json.loads(data) or {}).get("metadata") or {}).get("message_sid")
                if sid in sids:
                    found.add(sid)
    engine.dispose()
    return found


def test_a_thousand_random_messages_no_5xx_and_no_silent_turn(stack):
    rng = random.Random(SEED)
    messages = plan(rng)
    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = [o for outcomes in pool.map(lambda item: run_customer(stack, *item),
                                               messages.items()) for o in outcomes]
    elapsed = time.monotonic() - started
    assert len(results) == MESSAGES
    errors = [(sid, status) for sid, status in results if status >= 500]
    assert errors == [], f"{len(errors)} answers 5xx: {errors[:10]}"
    answered = {sid for sid, status in results if status == 200}
    assert len(answered) == MESSAGES, [r for r in results if r[1] != 200][:10]
    replies = replies_by_sid(stack, answered)
    silent = answered - set(replies) - paused_sids(stack, answered)
    bodies = {m["sid"]: m["body"][:80] for ms in messages.values() for m in ms}
    assert not silent, f"{len(silent)} silent turns: {[bodies[s] for s in list(silent)[:10]]}"
    netted = [bodies[sid] for sid, said in replies.items() if set(said) & set(NOT_UNDERSTOOD.values())]
    trouble = sum(1 for said in replies.values() if set(said) & set(TROUBLE.values()))
    print(f"fuzz: {MESSAGES} messages from {CUSTOMERS} customers in {elapsed:.1f} s; "
          f"{len(netted)} answered by the channel's safety net {netted[:5]}, {trouble} with the "
          f"trouble notice")
