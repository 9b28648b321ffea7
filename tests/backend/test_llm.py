"""The LLM fallback against a local OpenAI-compatible server: grounded answers, the preference
list, timeouts, malformed output, unsupported answers, budgets, intent classification, the log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.domain.knowledge import EVIDENCE, ConfidenceModel
from backend.wiring import Context
from backend.models import LlmCall
from backend.sandbox.llm import LlmSimulator
from backend.services.knowledge.kb import import_kb, parse_import
from backend.services.platform.tenants import update_settings
from tests.backend.conftest import SERVICE_TOKEN, TENANT_ID, merchant_headers, service_headers
from tests.backend.kb_helpers import SHOP_KB, use_kb, wait_for_jobs

CLASSIFY = "/internal/v1/nlu/classify"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def simulator() -> Iterator[LlmSimulator]:
    with LlmSimulator() as running:
        yield running


def budget(ctx: Context, minor: int, action: str = "fallback_to_rules") -> None:
    update_settings(ctx, TENANT_ID, {"features": {"llm_budget_minor_per_month": minor,
                                                  "llm_budget_exhausted_action": action}})


@pytest.fixture
def llm(tenants: Context, tmp_path: Path, simulator: LlmSimulator) -> Context:
    """The shop's KB, a confidence no retrieval reaches (so the LLM is asked), a budget."""
    kb = use_kb(tenants, tmp_path, llm_base_url=simulator.base_url,
                llm_models=("small-a", "small-b"), llm_timeout_seconds=1.0)
    # A fitted model answers "how much is delivery to Rongai" itself; never confident here.
    kb.fitted = replace(kb.fitted, confidence=ConfidenceModel(-30.0, (0.0,) * len(EVIDENCE)))
    import_kb(tenants, TENANT_ID, parse_import(SHOP_KB, "yaml"))
    wait_for_jobs(tenants)
    budget(tenants, 10_000)
    return tenants


def calls(ctx: Context) -> list[LlmCall]:
    with ctx.db.transaction() as session:
        return list(session.scalars(select(LlmCall).order_by(LlmCall.id)))


def ask(client: Any, question: str, language: str = "en") -> dict[str, Any]:
    response = client.post("/v1/faq/answer", json={"question": question, "language": language},
                           headers=service_headers(TENANT_ID))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_below_the_threshold_the_llm_answers_from_the_passages_only(llm, client, simulator):
    body = ask(client, "How much does delivery to Rongai cost?")
    assert body["answered"] and body["method"] == "llm"
    assert "KES 350" in body["answer"] and body["sources"][0]["title"] == "Delivery fees"
    prompt = simulator.requests[-1]["messages"]
    assert "ONLY the numbered passages" in prompt[0]["content"]
    assert "Branch" not in prompt[1]["content"]  # only this tenant's retrieved passages
    [call] = calls(llm)
    assert (call.purpose, call.model, call.outcome) == ("faq_answer", "small-a", "ok")
    assert call.tokens_in > 0 and call.tokens_out > 0 and call.cost_micros > 0
    assert call.tenant_id == TENANT_ID and call.currency == "KES"
    log = client.get("/v1/llm/calls", headers=merchant_headers()).get_json()
    assert log["count"] == 1 and log["results"][0]["outcome"] == "ok"


def test_the_preference_list_moves_on_when_a_model_is_missing(llm, client, simulator):
    simulator.behaviours["small-a"] = "missing"
    body = ask(client, "How much does delivery to Rongai cost?")
    assert body["method"] == "llm"
    assert [(c.model, c.outcome) for c in calls(llm)] == [("small-a", "error"), ("small-b", "ok")]


def test_an_unsupported_answer_is_rejected_and_the_customer_gets_not_sure(llm, client, simulator):
    simulator.behaviours["small-a"] = "unsupported"
    body = ask(client, "How much does delivery to Rongai cost?")
    assert body["answered"] is False and body["offer_human"] is True
    assert "moon" not in body["answer"]
    assert [c.outcome for c in calls(llm)] == ["unsupported"]


def test_malformed_output_is_logged_and_not_shown(llm, client, simulator):
    simulator.behaviours["small-a"] = "malformed"
    body = ask(client, "How much does delivery to Rongai cost?")
    assert body["method"] == "none" and "probably" not in body["answer"]
    assert [c.outcome for c in calls(llm)] == ["malformed"]


def test_a_timeout_falls_back_to_the_answer_without_the_llm_in_time(llm, client, simulator):
    import time

    simulator.behaviours["small-a"] = "slow"
    started = time.monotonic()
    body = ask(client, "How much does delivery to Rongai cost?")
    assert time.monotonic() - started < 3.0  # LLM timeout is 1 s here
    assert body["method"] == "none" and body["offer_human"] is True
    assert [c.outcome for c in calls(llm)] == ["timeout"]


def test_an_exhausted_budget_stops_the_llm(llm, client, simulator):
    budget(llm, 1)  # one cent: 10,000 micro-shillings
    with llm.db.transaction() as session:
        session.add(LlmCall(tenant_id=TENANT_ID, purpose="classify", model="small-a",
                            tokens_in=1, tokens_out=1, cost_micros=10_000, currency="KES",
                            latency_ms=5, outcome="ok", detail=""))
    before = len(simulator.requests)
    body = ask(client, "How much does delivery to Rongai cost?")
    assert body["method"] == "none" and len(simulator.requests) == before
    refused = client.post(CLASSIFY, headers=SERVICE,
                          json={"tenant_id": TENANT_ID, "text": "nataka kuongea na mtu"})
    assert refused.status_code == 409 and refused.get_json()["reason"] == "budget_exhausted"
    usage = client.get("/v1/llm/usage", headers=merchant_headers()).get_json()
    assert usage["exhausted"] is True and usage["cost_micros"] == 10_000


def test_classify_answers_a_known_intent_as_validated_json(llm, client, simulator):
    response = client.post(CLASSIFY, headers=SERVICE, json={
        "tenant_id": TENANT_ID, "text": "nataka kuongea na mtu tafadhali", "language": "sw"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"intent": "request_human", "confidence": 0.8,
                                   "model": "small-a"}
    assert "out_of_scope" in simulator.requests[-1]["messages"][0]["content"]
    assert calls(llm)[-1].purpose == "classify"


@pytest.mark.parametrize("behaviour,status", [("bad_intent", 502), ("malformed", 502),
                                              ("slow", 504)])
def test_classify_rejects_bad_output_and_times_out(llm, client, simulator, behaviour, status):
    simulator.behaviours["small-a"] = behaviour
    simulator.behaviours["small-b"] = behaviour
    response = client.post(CLASSIFY, headers=SERVICE,
                           json={"tenant_id": TENANT_ID, "text": "hello there"})
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == status
    assert calls(llm)[-1].outcome in ("malformed", "timeout")


def test_classify_is_409_when_the_llm_is_off_or_not_budgeted(tenants, client, tmp_path):
    use_kb(tenants, tmp_path)  # no LLM_BASE_URL
    off = client.post(CLASSIFY, headers=SERVICE, json={"tenant_id": TENANT_ID, "text": "hi"})
    assert off.status_code == 409 and off.get_json()["reason"] == "not_configured"
    use_kb(tenants, tmp_path, llm_base_url="http://127.0.0.1:9/v1")
    budget(tenants, 0)
    disabled = client.post(CLASSIFY, headers=SERVICE, json={"tenant_id": TENANT_ID, "text": "hi"})
    assert disabled.status_code == 409 and disabled.get_json()["reason"] == "disabled"
    unknown = client.post(CLASSIFY, headers=SERVICE, json={"tenant_id": "nope", "text": "hi"})
    assert unknown.status_code == 404
    merchant = client.post(CLASSIFY, headers=merchant_headers(),
                           json={"tenant_id": TENANT_ID, "text": "hi"})
    assert merchant.status_code == 401
