"""The NLU review loop: the queue of messages the model was unsure of or fell back on (filters,
pages, masking), reviewers' decisions (who and when, changes audited), tenant isolation, the
candidate writer (new sentences only, evaluation sentences refused, Rasa NLU YAML) and the
data team's page (/app/review). SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from backend.domain.permissions import BUILT_IN_ROLES
from backend.models import ApiKey, AuditLog, NluClassification, NluReview
from backend.services.conversations.review import (
    annotated,
    masked_text,
    review_entities,
    review_intents,
    write_candidates,
)
from backend.services.platform.auth import issue_api_key
from backend.wiring import Context
from tests.backend.accounts_helpers import PASSWORD, make_user
from tests.backend.conftest import OTHER_ID, TENANT_ID, merchant_headers

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from evaluation import datasets  # noqa: E402

REVIEWER_KEY = "duka-test-review-key-0003"
OTHER_REVIEWER_KEY = "other-shop-review-key-0004"
PHONE, CODE = "0712345678", "QGH7XK2L9P"
REVIEW = "/v1/nlu/review"


def add(ctx: Context, text: str, intent: str | None, confidence: float, language: str = "en",
        tenant: str = TENANT_ID, when: datetime | None = None,
        ranking: list[dict[str, Any]] | None = None) -> int:
    """A logged classification as the rasa side stores it (stored raw here: the queue masks
    whatever the text holds)."""
    with ctx.db.transaction() as session:
        row = NluClassification(tenant_id=tenant, message_id=uuid.uuid4().hex, text=text,
                                intent=intent, confidence=confidence, language=language,
                                ranking=ranking or [], entities=[],
                                created_at=when or datetime.now(UTC))
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture
def reviewers(tenants: Context) -> Context:
    """An API key with the data role's scopes in each tenant."""
    issue_api_key(tenants, TENANT_ID, REVIEWER_KEY, scopes=BUILT_IN_ROLES["data"])
    issue_api_key(tenants, OTHER_ID, OTHER_REVIEWER_KEY, scopes=BUILT_IN_ROLES["data"])
    return tenants


def headers(tenant: str = TENANT_ID) -> dict[str, str]:
    return merchant_headers(tenant, REVIEWER_KEY if tenant == TENANT_ID else OTHER_REVIEWER_KEY)


def key_id(ctx: Context, tenant: str = TENANT_ID) -> int:
    with ctx.db.transaction() as session:
        return session.scalars(select(ApiKey.id).where(ApiKey.tenant_id == tenant)
                               .order_by(ApiKey.id.desc())).first()


def test_the_data_role_reviews_and_the_vocabulary_is_the_domains() -> None:
    assert "nlu:review" in BUILT_IN_ROLES["data"]
    assert "nlu:review" in BUILT_IN_ROLES["owner"] and "nlu:review" in BUILT_IN_ROLES["admin"]
    for role in ("finance", "catalog_manager", "support_agent", "viewer", "designer"):
        assert "nlu:review" not in BUILT_IN_ROLES[role]
    intents = review_intents()
    assert {"greet", "price_check", "browse_products", "select_option"} <= set(intents)
    assert not any(name.startswith("EXTERNAL_") for name in intents)
    assert "nlu_fallback" not in intents
    assert {"product", "phone_number", "option"} <= set(review_entities())
    assert "language" not in review_entities()


def test_the_queue_holds_unsure_and_fallback_messages_with_filters_and_pages(
        client: Any, reviewers: Context) -> None:
    ctx = reviewers
    unsure = add(ctx, "how much for the red one", "price_check", 0.41,
                 when=datetime(2026, 11, 2, 10, tzinfo=UTC))
    fell_back = add(ctx, "mko na ile kitu ya jana", "nlu_fallback", 0.72, "sw",
                    when=datetime(2026, 11, 20, 9, tzinfo=UTC),
                    ranking=[{"name": "nlu_fallback", "confidence": 0.72},
                             {"name": "browse_products", "confidence": 0.22}])
    add(ctx, "hello", "greet", 0.97)  # sure: not in the queue
    add(ctx, "bei gani hii", "price_check", 0.2, "sw", tenant=OTHER_ID)  # another shop's

    def ids(**query: Any) -> list[int]:
        response = client.get(REVIEW, query_string=query, headers=headers())
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["results"]]

    assert ids() == [fell_back, unsure]  # newest first
    assert ids(language="sw") == [fell_back]
    assert ids(intent="price_check") == [unsure]
    assert ids(intent="nlu_fallback") == [fell_back]
    assert ids(**{"from": "2026-11-10T00:00:00Z"}) == [fell_back]
    assert ids(**{"to": "2026-11-10T00:00:00Z"}) == [unsure]
    assert ids(threshold=0.4) == [fell_back]  # 0.41 is not below 0.4; a fallback always is
    body = client.get(REVIEW, query_string={"page_size": 1}, headers=headers()).get_json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    item = body["results"][0]
    assert item["fallback"] is True and item["suggested_intent"] == "browse_products"
    assert item["review"] is None
    bad = client.get(REVIEW, query_string={"from": "2026-11-10T00:00:00Z",
                                           "to": "2026-11-01T00:00:00Z"}, headers=headers())
    assert bad.status_code == 400 and set(bad.get_json()) >= {"code", "message", "description"}
    assert client.get(REVIEW, query_string={"status": "maybe"},
                      headers=headers()).status_code == 422
    # Decided messages leave the pending queue; the other statuses find them.
    assert client.put(f"{REVIEW}/{unsure}", json={"decision": "discard"},
                      headers=headers()).status_code == 200
    assert ids() == [fell_back]
    assert ids(status="discarded") == [unsure] and ids(status="all") == [fell_back, unsure]


def test_phones_and_mpesa_codes_never_appear_unmasked(client: Any, reviewers: Context) -> None:
    text = f"I paid, code {CODE}, call me on {PHONE} or +254712345678 or jo@example.com"
    message = add(reviewers, text, "payment_help", 0.3)
    shown = masked_text(text)
    assert CODE not in shown and PHONE not in shown and "712345678" not in shown
    assert "jo@example.com" not in shown and "I paid, code" in shown
    assert masked_text("nataka viatu size 40 bei 2500") == "nataka viatu size 40 bei 2500"
    queue = client.get(REVIEW, headers=headers())
    one = client.get(f"{REVIEW}/{message}", headers=headers())
    for response in (queue, one):
        assert response.status_code == 200
        raw = response.data.decode()
        assert CODE not in raw and PHONE not in raw and "712345678" not in raw
    assert one.get_json()["text"] == shown
    # Entities are marked over the masked text, and the candidate data is written from it.
    start = shown.index("I paid")
    decided = client.put(f"{REVIEW}/{message}", headers=headers(), json={
        "decision": "intent", "intent": "payment_help",
        "entities": [{"start": start, "end": start + 6, "entity": "payment_method",
                      "value": "mpesa"}]})
    assert decided.status_code == 200, decided.get_json()
    written = client.post(f"{REVIEW}/candidates", json={}, headers=headers())
    assert written.status_code == 200, written.get_json()
    raw = written.data.decode()
    assert CODE not in raw and PHONE not in raw and "712345678" not in raw
    example = written.get_json()["files"][0]["examples"][0]
    assert example.startswith('[I paid]{"entity": "payment_method", "value": "mpesa"}, code ')


def test_decisions_keep_who_and_when_and_changes_are_audited(
        client: Any, reviewers: Context) -> None:
    ctx = reviewers
    message = add(ctx, "nataka viatu za bei poa", "price_check", 0.35, "sw")
    before = datetime.now(UTC)
    decided = client.put(f"{REVIEW}/{message}", headers=headers(), json={
        "decision": "intent", "intent": "browse_products",
        "entities": [{"start": 7, "end": 12, "entity": "category"}]})
    assert decided.status_code == 200, decided.get_json()
    review = decided.get_json()["review"]
    actor = f"api_key:{key_id(ctx)}"
    assert review["decision"] == "intent" and review["intent"] == "browse_products"
    assert review["entities"] == [{"start": 7, "end": 12, "entity": "category",
                                   "value": "viatu"}]
    assert review["decided_by"] == actor
    assert datetime.fromisoformat(review["decided_at"]) >= before.replace(microsecond=0)
    changed = client.put(f"{REVIEW}/{message}", json={"decision": "discard"}, headers=headers())
    assert changed.status_code == 200
    assert changed.get_json()["review"]["decision"] == "discard"
    with ctx.db.transaction() as session:
        rows = session.scalars(select(NluReview)).all()
        assert len(rows) == 1 and rows[0].decision == "discard" and rows[0].decided_by == actor
        audit = session.scalars(select(AuditLog).where(AuditLog.target_type ==
                                                       "nlu_classification")
                                .order_by(AuditLog.id)).all()
        assert [a.action for a in audit] == ["nlu_reviews.decide", "nlu_reviews.change"]
        assert all(a.actor == actor and a.target_id == str(message) for a in audit)
        assert audit[1].before["intent"] == "browse_products"
        assert audit[1].after["decision"] == "discard"
    # Only the domain's intents and entities; spans of the text that do not overlap.
    for body in ({"decision": "intent", "intent": "buy_a_car"},
                 {"decision": "intent"},
                 {"decision": "intent", "intent": "greet",
                  "entities": [{"start": 0, "end": 99, "entity": "product"}]},
                 {"decision": "intent", "intent": "greet",
                  "entities": [{"start": 0, "end": 6, "entity": "colour"}]},
                 {"decision": "intent", "intent": "greet",
                  "entities": [{"start": 0, "end": 6, "entity": "product"},
                               {"start": 3, "end": 12, "entity": "category"}]}):
        refused = client.put(f"{REVIEW}/{message}", json=body, headers=headers())
        assert refused.status_code == 400, body
        assert set(refused.get_json()) >= {"code", "message", "description"}
    assert client.put(f"{REVIEW}/{message}", json={"decision": "maybe"},
                      headers=headers()).status_code == 422


def test_a_tenant_never_sees_or_decides_on_another_tenants_messages(
        client: Any, reviewers: Context) -> None:
    ctx = reviewers
    theirs = add(ctx, "hizo ni ngapi", "price_check", 0.3, "sw", tenant=OTHER_ID)
    ours = add(ctx, "how much", "price_check", 0.3)
    assert [i["id"] for i in client.get(REVIEW, headers=headers()).get_json()["results"]] == [
        ours]
    assert client.get(f"{REVIEW}/{theirs}", headers=headers()).status_code == 404
    put = client.put(f"{REVIEW}/{theirs}", json={"decision": "discard"}, headers=headers())
    assert put.status_code == 404
    assert client.put(f"{REVIEW}/{theirs}", json={"decision": "intent", "intent": "price_check"},
                      headers=headers(OTHER_ID)).status_code == 200
    written = client.post(f"{REVIEW}/candidates", json={}, headers=headers()).get_json()
    assert written["reviewed"] == 0 and written["files"] == []
    with ctx.db.transaction() as session:
        assert session.scalar(select(NluReview.tenant_id)) == OTHER_ID
    # Without the scope: 403 (a key of the viewer role).
    issue_api_key(ctx, TENANT_ID, "duka-test-viewer-key-0005", scopes=BUILT_IN_ROLES["viewer"])
    assert client.get(REVIEW, headers=merchant_headers(
        TENANT_ID, "duka-test-viewer-key-0005")).status_code == 403


def test_the_operator_reads_the_queue_across_tenants(client: Any, reviewers: Context) -> None:
    ctx = reviewers
    ours = add(ctx, "how much", "price_check", 0.3, when=datetime(2026, 11, 1, tzinfo=UTC))
    theirs = add(ctx, "hizo ni ngapi", "price_check", 0.3, "sw", tenant=OTHER_ID,
                 when=datetime(2026, 11, 2, tzinfo=UTC))
    from tests.backend.conftest import service_headers

    every = client.get("/v1/platform/nlu/review", headers=service_headers())
    assert every.status_code == 200, every.get_json()
    assert [i["id"] for i in every.get_json()["results"]] == [theirs, ours]
    one = client.get("/v1/platform/nlu/review", query_string={"tenant": TENANT_ID},
                     headers=service_headers())
    assert [i["id"] for i in one.get_json()["results"]] == [ours]
    assert client.get("/v1/platform/nlu/review", headers=headers()).status_code in (401, 403)


def _heldout_sentence() -> tuple[str, str]:
    for path in sorted((REPO / "eval" / "heldout" / "en").glob("*.yml")):
        for intent, text in datasets.read_rasa_yaml(path):
            if intent and len(text.split()) >= 3:
                return intent, text
    raise AssertionError("no held-out sentence")


def _trained_sentence() -> tuple[str, str]:
    for intent, text in datasets.read_rasa_yaml(REPO / "data" / "nlu" / "en" / "shopping.yml"):
        if intent and len(text.split()) >= 3 and "[" not in text:
            return intent, text
    raise AssertionError("no training sentence")


def _review(ctx: Context, text: str, intent: str, language: str = "en",
            entities: list[dict[str, Any]] | None = None, decision: str = "intent") -> int:
    message = add(ctx, text, "nlu_fallback", 0.5, language)
    with ctx.db.transaction() as session:
        session.add(NluReview(tenant_id=TENANT_ID, classification_id=message, decision=decision,
                              intent=intent if decision == "intent" else None,
                              entities=entities or [], decided_by="user:1",
                              decided_at=datetime.now(UTC)))
    return message


def test_the_candidate_writer_dedupes_refuses_evaluation_sentences_and_writes_rasa_yaml(
        make_app: Any, tmp_path: Path) -> None:
    from tests.backend.conftest import add_tenant

    app = make_app(nlu_review_dir=str(tmp_path / "nlu"))
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, "+254700000101", "AC" + "1" * 32, "token", "key-1-" + "x" * 20)
    held_intent, held = _heldout_sentence()
    trained_intent, trained = _trained_sentence()
    new_text = "natafuta viatu vya harusi za rangi ya dhahabu leo"
    start = new_text.index("viatu")
    _review(ctx, new_text, "browse_products", "sw",
            [{"start": start, "end": start + 5, "entity": "category", "value": "viatu"}])
    _review(ctx, "  " + trained.upper().replace(" ", "   ") + " ", trained_intent)
    _review(ctx, held, held_intent)
    _review(ctx, "where do i pick up the parcel from your kisumu branch", "ask_faq")
    _review(ctx, "something else entirely that nobody wrote before", "greet",
            decision="discard")
    _review(ctx, "hii ni language isiyojulikana kabisa sasa hivi", "greet", "mixed")

    result = write_candidates(ctx, [TENANT_ID])
    assert result.reviewed == 5  # the discarded one is not a candidate
    assert {r.text for r in result.refused if r.reason == "evaluation"} == {held}
    assert {r.language for r in result.refused if r.reason == "language"} == {"mixed"}
    assert [" ".join(d.split()).lower() for d in result.duplicates] == [trained.lower()]
    by_language = {f.language: f for f in result.files}
    assert sorted(by_language) == ["en", "sw"]
    assert by_language["sw"].examples == [
        "natafuta [viatu](category) vya harusi za rangi ya dhahabu leo"]
    written = tmp_path / "nlu" / "sw" / "review.yml"
    assert by_language["sw"].written_to == str(written) and written.is_file()
    document = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert document["version"] == "3.1"
    assert document["nlu"] == [{"intent": "browse_products", "examples":
                                "- natafuta [viatu](category) vya harusi za rangi ya dhahabu "
                                "leo\n"}]
    assert datasets.read_rasa_yaml(tmp_path / "nlu" / "en" / "review.yml") == [
        ("ask_faq", "where do i pick up the parcel from your kisumu branch")]
    assert held not in (tmp_path / "nlu" / "en" / "review.yml").read_text()

    # Written again: nothing new (the file has them), the file unchanged.
    before = written.read_text()
    again = write_candidates(ctx, [TENANT_ID])
    assert again.files == [] and len(again.duplicates) == 3
    assert written.read_text() == before


def test_without_a_review_dir_the_yaml_is_returned_only(client: Any, reviewers: Context,
                                                        tmp_path: Path) -> None:
    _review(reviewers, "where do i pick up the parcel from your kisumu branch", "ask_faq")
    result = client.post(f"{REVIEW}/candidates", json={"language": "en"}, headers=headers())
    assert result.status_code == 200, result.get_json()
    body = result.get_json()
    assert [f["written_to"] for f in body["files"]] == [None]
    assert "- where do i pick up the parcel from your kisumu branch" in body["files"][0][
        "content"]
    assert client.post(f"{REVIEW}/candidates", json={"language": "sw"},
                       headers=headers()).get_json()["files"] == []


def test_annotation_breaks_markup_in_the_customers_words() -> None:
    text = "[2](option) ya pili"
    assert annotated(text, []) == "[2] (option) ya pili"
    assert annotated("size 40 please", [{"start": 5, "end": 7, "entity": "quantity",
                                         "value": "40"}]) == "size [40](quantity) please"


RASA_CHECK = """
import sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
data = RasaYAMLReader().read(sys.argv[1])
for m in data.training_examples:
    print(m.get("intent"), "|", m.get("text"), "|",
          [(e["entity"], e["value"]) for e in m.get("entities") or []])
"""


@pytest.mark.skipif(not (REPO / ".venv-rasa" / "bin" / "python").exists(),
                    reason="no .venv-rasa")
def test_rasa_reads_the_candidate_file(tmp_path: Path) -> None:
    from backend.services.conversations.review import render_nlu

    path = tmp_path / "review.yml"
    path.write_text(render_nlu({
        "browse_products": ["natafuta [viatu](category) vya harusi", "any [2] (option) left?"],
        "payment_help": ['[I paid]{"entity": "payment_method", "value": "mpesa"} code **********'],
    }, "a header\nof two lines"), encoding="utf-8")
    run = subprocess.run([str(REPO / ".venv-rasa" / "bin" / "python"), "-c", RASA_CHECK,
                          str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in run.stdout.splitlines() if " | " in line]
    assert "browse_products | natafuta viatu vya harusi | [('category', 'viatu')]" in lines
    assert "browse_products | any [2] (option) left? | []" in lines
    assert "payment_help | I paid code ********** | [('payment_method', 'mpesa')]" in lines


# ------------------------------------------------------------------ the page

def _sign_in(client: Any, email: str) -> str:
    assert client.post("/app/login", data={"email": email, "password": PASSWORD}).status_code == 303
    page = client.get("/app/review")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode())
    assert page.status_code == 200 and found, page.data[:500]
    return found.group(1)


def test_the_data_teams_page_reviews_and_writes_candidates(client: Any, tenants: Context) -> None:
    ctx = tenants
    make_user(ctx, "data@duka.example", "data")
    make_user(ctx, "viewer@duka.example", "viewer")
    text = f"nataka viatu, nimelipa {CODE} namba yangu {PHONE}"
    message = add(ctx, text, "nlu_fallback", 0.5, "sw",
                  ranking=[{"name": "nlu_fallback", "confidence": 0.5},
                           {"name": "browse_products", "confidence": 0.3}])
    theirs = add(ctx, "hizo ni ngapi", "price_check", 0.3, "sw", tenant=OTHER_ID)
    csrf = _sign_in(client, "data@duka.example")
    shown = client.get("/app/review").data.decode()
    assert CODE not in shown and PHONE not in shown and "712345678" not in shown
    assert "nataka viatu" in shown and f'id="message-{message}"' in shown
    assert f'id="message-{theirs}"' not in shown
    assert 'href="/app/review"' in shown  # the menu links it
    assert "hizo ni ngapi" not in client.get("/app/review?shop=" + OTHER_ID).data.decode()
    assert client.get("/app/review?shop=" + OTHER_ID).status_code == 404

    saved = client.post(f"/app/review/{message}", data={
        "csrf_token": csrf, "decision": "intent", "intent": "browse_products",
        "entities": "category: viatu", "back": "language=sw&status=pending"})
    assert saved.status_code == 303 and "language=sw" in saved.headers["Location"]
    with ctx.db.transaction() as session:
        review = session.scalar(select(NluReview))
        assert review.intent == "browse_products" and review.decided_by.startswith("user:")
        assert review.entities == [{"start": 7, "end": 12, "entity": "category",
                                    "value": "viatu"}]
    assert client.post(f"/app/review/{message}", data={
        "csrf_token": csrf, "decision": "intent", "intent": "browse_products",
        "entities": "category: sandals"}).status_code == 422
    assert client.post(f"/app/review/{theirs}", data={
        "csrf_token": csrf, "decision": "discard"}).status_code == 404
    reviewed = client.get("/app/review?status=reviewed").data.decode()
    assert "browse_products" in reviewed and "category: viatu" in reviewed

    written = client.post("/app/review/candidates", data={"csrf_token": csrf})
    assert written.status_code == 200
    page = written.data.decode()
    assert 'id="candidate-result"' in page and "sw/review.yml" in page
    assert "[viatu](category)" in page and CODE not in page and PHONE not in page

    assert client.post(f"/app/review/{message}", data={
        "csrf_token": csrf, "decision": "discard"}).status_code == 303
    with ctx.db.transaction() as session:
        assert session.scalar(select(NluReview.decision)) == "discard"

    viewer = client.application.test_client()
    assert viewer.post("/app/login", data={"email": "viewer@duka.example",
                                           "password": PASSWORD}).status_code == 303
    assert viewer.get("/app/review").status_code == 403
