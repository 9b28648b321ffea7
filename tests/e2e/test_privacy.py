"""No phone in clear after a real conversation: order, M-Pesa payment and its receipt (a
backend-triggered intent), a handoff and its resume. Every column of every table of the backend's
database and of Rasa's tracker store, and every log, are searched for the customer's digits; the
stack's data files are owner-only."""
from __future__ import annotations

import re
import sqlite3
import stat
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import requests

from tests.e2e.conftest import new_phone
from tests.e2e.test_flows import (ORDER, answer_variant_and_quantity, order_until_placed,
                                  service_get, wait_for)


def cells(database: Path) -> Iterator[Tuple[str, str, str]]:
    """(table, column, value as text) of every cell of every table, read-only."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            for row in cursor:
                for name, value in zip(names, row):
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    yield table, name, str(value)
    finally:
        connection.close()


def spellings(phone: str) -> List[str]:
    """+254712345678 → 254712345678 and 712345678 (inside 0712345678 too)."""
    return [phone[1:], phone[4:]]


def found_in_databases(stack, phone: str) -> List[str]:
    var = Path(stack.env["VAR_DIR"])
    return [f"{database.name}:{table}.{column}"
            for database in (var / "app.db", var / "rasa-tracker.db")
            for table, column, value in cells(database)
            for digits in spellings(phone) if digits in re.sub(r"[ \-]", "", value)]


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_no_phone_in_clear_after_a_whole_conversation(stack):
    phone = new_phone()
    order_until_placed(stack, phone, [("show me your shoes", r"Here is what I found for shoes"),
                                      ("1", r"Price: KES")])
    reply = "\n".join(stack.say(phone, "i want to buy this one"))
    summary = answer_variant_and_quantity(stack, phone, reply, "1")
    placed = "\n".join(stack.say(phone, "yes"))
    assert re.search(r"Order #\d+ placed", placed), placed
    # The payment menu shows the customer's own number masked, never in full.
    assert f"0{phone[4:7]} *** {phone[-3:]}" in placed, placed
    order_id = ORDER.search(placed).group(1)
    after = stack.last_id(phone)
    sent = "\n".join(stack.say(phone, "1"))
    assert "Check your phone" in sent and f"#{order_id}" in sent, sent
    receipt = wait_for(stack, phone, after, r"Payment received")  # EXTERNAL_payment_received
    assert f"#{order_id}" in receipt, receipt
    [handoff] = stack.say(phone, "i want to talk to a human please")
    assert "person" in handoff or "away for the night" in handoff, handoff
    # Merchants still see the customer: the phone, decrypted from the customer record.
    waiting = service_get(stack, "/v1/conversations", needs_human="true")["results"]
    [mine] = [c for c in waiting if c.get("customer_phone") == phone]
    resumed = requests.post(f"{stack.backend}/v1/conversations/{mine['id']}/resume", timeout=10,
                            headers={"Authorization": f"Bearer {stack.service_token}",
                                     "X-TENANT-ID": "demo-shop"})
    assert resumed.status_code == 200, resumed.text
    # The NLU log is written in batches off the turn: wait until it holds this conversation.
    wait_until(lambda: any(t == "nlu_classifications" and c == "text" and
                           v == "i want to talk to a human please"
                           for t, c, v in cells(Path(stack.env["VAR_DIR"]) / "app.db")))

    assert found_in_databases(stack, phone) == []
    logs = sorted((Path(stack.env["VAR_DIR"]) / "log").glob("*.log"))
    assert logs
    leaked = [log.name for log in logs for digits in spellings(phone)
              if digits in log.read_text(errors="replace")]
    assert leaked == []
    loose = [str(path) for path in Path(stack.env["VAR_DIR"]).rglob("*")
             if stat.S_IMODE(path.stat().st_mode) & 0o077]
    assert loose == []
