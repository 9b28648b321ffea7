"""The NLU classification log: batches in (once per message, unknown tenants skipped), merchants'
filtered pages out, and the low-confidence examples for annotators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.wiring import Context
from backend.services.conversations.classifications import best_guess, low_confidence_examples
from tests.backend.conftest import (
    OTHER_ID,
    OTHER_KEY,
    TENANT_ID,
    merchant_headers,
    service_headers,
)

URL = "/internal/v1/nlu/classifications"
LIST = "/v1/nlu/classifications"
PHONE = "+254711000055"
NOW = datetime.now(UTC).replace(microsecond=0)


def row(message_id: str, text: str, intent: str, confidence: float, **extra: Any) -> dict:
    return {
        "tenant_id": TENANT_ID,
        "sender_id": f"{TENANT_ID}:{PHONE}",
        "message_id": message_id,
        "message_sid": None,
        "text": text,
        "intent": intent,
        "confidence": confidence,
        "language": "sw",
        "ranking": [{"name": intent, "confidence": confidence},
                    {"name": "greet", "confidence": 0.1},
                    {"name": "goodbye", "confidence": 0.05},
                    {"name": "affirm", "confidence": 0.01}],
        "entities": [{"entity": "product", "value": "viatu", "start": 7, "end": 12,
                      "extractor": "DIETClassifier"}],
        "timestamp": NOW.isoformat(),
        **extra,
    }


def post(client, rows: list[dict]) -> dict:
    response = client.post(URL, json={"classifications": rows}, headers=service_headers())
    assert response.status_code == 202, response.get_json()
    body: dict = response.get_json()
    return body


def listed(client, headers=None, **query: Any) -> list[dict]:
    response = client.get(LIST, query_string=query, headers=headers or merchant_headers())
    assert response.status_code == 200, response.get_json()
    results: list[dict] = response.get_json()["results"]
    return results


def test_a_batch_is_stored_once_linked_to_the_inbound_message(client, tenants) -> None:
    inbound = client.post("/internal/v1/messages/inbound", json={
        "tenant_id": TENANT_ID, "from": PHONE, "message_sid": "SMC1",
        "body": "mnauza viatu?"}, headers=service_headers())
    assert inbound.status_code == 201
    customer_id = inbound.get_json()["customer_id"]
    rows = [row("m1", "mnauza viatu?", "browse_catalog", 0.93, message_sid="SMC1"),
            row("m2", "sijui", "nlu_fallback", 0.4),
            row("m1", "mnauza viatu?", "browse_catalog", 0.93),  # repeated within the batch
            {**row("m3", "hi", "greet", 0.99), "tenant_id": "no-such-shop"}]

    assert post(client, rows) == {"stored": 2, "skipped": 1, "duplicates": 1}
    assert post(client, rows[:2]) == {"stored": 0, "skipped": 0, "duplicates": 2}

    [fallback, browse] = listed(client)  # newest first: same time, higher id first
    assert browse["message_id"] == "m1" and browse["message_sid"] == "SMC1"
    assert browse["customer_id"] == customer_id and browse["conversation_id"] is not None
    assert browse["ranking"] == [{"name": "browse_catalog", "confidence": 0.93},
                                 {"name": "greet", "confidence": 0.1},
                                 {"name": "goodbye", "confidence": 0.05}]
    assert browse["entities"] == [{"entity": "product", "value": "viatu"}]
    assert browse["created_at"] == NOW.isoformat(timespec="microseconds")
    # Without a MessageSid the sender id still finds the customer and their conversation.
    assert fallback["customer_id"] == customer_id
    assert fallback["conversation_id"] == browse["conversation_id"]


def test_filters_pages_and_tenants(client, tenants) -> None:
    post(client, [
        row("a", "nataka viatu", "browse_catalog", 0.35, language="sw",
            timestamp=(NOW - timedelta(days=2)).isoformat()),
        row("b", "I want shoes", "browse_catalog", 0.8, language="en"),
        row("c", "poa", "greet", 0.55, language="sheng",
            timestamp=(NOW - timedelta(hours=1)).isoformat()),
    ])
    assert [r["message_id"] for r in listed(client)] == ["b", "c", "a"]
    assert [r["message_id"] for r in listed(client, max_confidence=0.6)] == ["c", "a"]
    assert [r["message_id"] for r in listed(client, intent="browse_catalog")] == ["b", "a"]
    assert [r["message_id"] for r in listed(client, language="sheng")] == ["c"]
    since = (NOW - timedelta(days=1)).isoformat()
    assert [r["message_id"] for r in listed(client, **{"from": since})] == ["b", "c"]
    assert [r["message_id"] for r in listed(client, to=since)] == ["a"]
    page = client.get(LIST, query_string={"page_size": 2}, headers=merchant_headers()).get_json()
    assert page["count"] == 3 and page["next"] and len(page["results"]) == 2
    by_service = listed(client, service_headers(TENANT_ID), max_confidence=0.4)
    assert [r["message_id"] for r in by_service] == ["a"]
    assert listed(client, merchant_headers(OTHER_ID, OTHER_KEY)) == []
    bad = client.get(LIST, query_string={"from": NOW.isoformat(), "to": since},
                     headers=merchant_headers())
    assert bad.status_code == 400
    assert client.get(LIST, query_string={"max_confidence": 2},
                      headers=merchant_headers()).status_code == 422


def test_ingest_needs_the_service_token_and_valid_rows(client, tenants) -> None:
    payload = {"classifications": [row("x", "hi", "greet", 0.9)]}
    assert client.post(URL, json=payload, headers=merchant_headers()).status_code == 401
    assert client.get(LIST).status_code == 401
    too_many = {"classifications": [row(f"m{i}", "hi", "greet", 0.9) for i in range(501)]}
    assert client.post(URL, json=too_many, headers=service_headers()).status_code == 422
    no_id = {"classifications": [{**row("x", "hi", "greet", 0.9), "message_id": ""}]}
    assert client.post(URL, json=no_id, headers=service_headers()).status_code == 422
    out_of_range = {"classifications": [row("x", "hi", "greet", 1.5)]}
    assert client.post(URL, json=out_of_range, headers=service_headers()).status_code == 422
    minimal = {"classifications": [{"tenant_id": TENANT_ID, "message_id": "bare"}]}
    assert post(client, minimal["classifications"]) == {"stored": 1, "skipped": 0,
                                                        "duplicates": 0}
    [bare] = listed(client)
    assert bare["customer_id"] is None and bare["intent"] is None and bare["text"] == ""


def test_low_confidence_examples_deduplicated_lowest_first(client, tenants: Context) -> None:
    post(client, [
        row("1", "nataka  viatu", "browse_catalog", 0.52),
        row("2", "Nataka viatu", "browse_catalog", 0.31),  # same text: kept at 0.31
        row("3", "ebu nionyeshe", "nlu_fallback", 0.4,
            ranking=[{"name": "nlu_fallback", "confidence": 0.4},
                     {"name": "browse_catalog", "confidence": 0.22}]),
        row("4", "asante sana", "thank", 0.95),
        row("5", "zamani", "greet", 0.1, timestamp=(NOW - timedelta(days=30)).isoformat()),
        {**row("6", "other shop", "greet", 0.2), "tenant_id": OTHER_ID,
         "sender_id": f"{OTHER_ID}:{PHONE}"},
    ])
    since = NOW - timedelta(days=7)
    examples = low_confidence_examples(tenants.db, 0.6, since, TENANT_ID)
    assert [(e.text, e.intent, e.confidence, e.fallback) for e in examples] == [
        ("ebu nionyeshe", "browse_catalog", 0.22, True),
        ("Nataka viatu", "browse_catalog", 0.31, False),
    ]
    everyone = low_confidence_examples(tenants.db, 0.6, since)
    assert [e.text for e in everyone] == ["other shop", "ebu nionyeshe", "Nataka viatu"]


def test_best_guess_prefers_a_real_intent_over_the_fallback() -> None:
    assert best_guess("greet", 0.3, []) == ("greet", 0.3, False)
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "faq", "confidence": 0.2}]
    assert best_guess("nlu_fallback", 0.4, ranking) == ("faq", 0.2, True)
    assert best_guess("nlu_fallback", 0.4, ranking[:1]) == (None, 0.4, True)


REPO = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"
# Loads the file with Rasa's own NLU YAML reader (schema validation included) and prints what
# it understood: [[intent, text], ...].
RASA_READ = """
import json, sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
data = RasaYAMLReader().read(sys.argv[1])
print(json.dumps([[m.get("intent"), m.get("text")] for m in data.intent_examples]))
"""


def export(ctx: Context, tmp_path: Path, *args: str) -> tuple[str, str]:
    out = tmp_path / "review" / "low.yml"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export_low_confidence.py"), "--out", str(out),
         *args],
        env={**os.environ, "DATABASE_URL": ctx.settings.database_url},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8"), result.stdout


def test_export_writes_rasa_nlu_yaml_with_comments(client, tenants: Context, tmp_path) -> None:
    tricky = 'size "42" #mpya: [red](colour)?'
    exported = 'size "42" #mpya: [red] (colour)?'  # not entity markup for Rasa
    post(client, [
        row("1", "nataka viatu", "browse_catalog", 0.52, language="sw"),
        row("2", "Nataka  viatu", "browse_catalog", 0.31, language="sw"),
        row("3", tricky, "browse_catalog", 0.45, language="en"),
        row("4", "niaje buda 😎", "greet", 0.2, language="sheng"),
        row("5", "ebu nionyeshe", "nlu_fallback", 0.4,
            ranking=[{"name": "nlu_fallback", "confidence": 0.4},
                     {"name": "browse_catalog", "confidence": 0.25}]),
        row("6", "asante", "thank", 0.97),
        {**row("7", "other shop", "greet", 0.1), "tenant_id": OTHER_ID,
         "sender_id": f"{OTHER_ID}:{PHONE}"},
    ])
    text, summary = export(tenants, tmp_path, "--threshold", "0.6", "--since-days", "7",
                           "--tenant", TENANT_ID)
    day = f"{NOW:%Y-%m-%d}"
    assert "version: \"3.1\"" in text
    assert f'  - text: "niaje buda 😎"  # 0.20 sheng {day}' in text
    assert f'  - text: "ebu nionyeshe"  # 0.25 sw {day} fallback' in text
    assert "other shop" not in text and "asante" not in text
    assert summary.startswith("4 low-confidence examples (2 intents, 1 fallbacks) below 0.6")

    document = yaml.safe_load(text)  # the comments are YAML comments, not part of the text
    assert document["version"] == "3.1"
    assert [(block["intent"], [e["text"] for e in block["examples"]])
            for block in document["nlu"]] == [
        ("greet", ["niaje buda 😎"]),
        ("browse_catalog", ["ebu nionyeshe", "Nataka viatu", exported]),
    ]
    if not RASA_PYTHON.exists():
        pytest.skip(".venv-rasa is not built")
    path = tmp_path / "review" / "low.yml"
    read = subprocess.run([str(RASA_PYTHON), "-c", RASA_READ, str(path)], capture_output=True,
                          text=True, timeout=300, check=False, cwd=REPO)
    assert read.returncode == 0, read.stderr[-2000:]
    assert json.loads(read.stdout.strip().splitlines()[-1]) == [
        ["greet", "niaje buda 😎"], ["browse_catalog", "ebu nionyeshe"],
        ["browse_catalog", "Nataka viatu"], ["browse_catalog", exported]]


def test_export_of_nothing_is_still_a_valid_file(client, tenants: Context, tmp_path) -> None:
    post(client, [row("1", "asante", "thank", 0.97)])
    text, summary = export(tenants, tmp_path)
    assert yaml.safe_load(text) == {"version": "3.1", "nlu": []}
    assert summary.startswith("0 low-confidence examples")
