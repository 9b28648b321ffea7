"""The NLU model registry's page in a real browser (headless chromium), after the review queue:
a reviewer of the demo shop (also a platform operator here) decides an unsure message and
writes the candidate data, builds a candidate model and watches its training progress (the page
refreshes itself), sees its card (figures, the gate's reasons against the promoted model),
promotes it (the stand-in rasa receives PUT /model) and rolls back to the model before in one
click. The trainer and evaluator are injected (tests/backend/test_nlu_models_real.py trains for
real). Runnable alone: `pytest tests/web/test_models.py`."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from sqlalchemy import update

from backend.models import NluClassification, User
from backend.services.conversations import nlu_models
from backend.services.conversations.nlu_models import TrainJob
from backend.wiring import Context
from tests.backend.rasa_fake import FakeRasa
from tests.web.conftest import SHOP, Browser, staff

GOOD = {"en": 0.96, "sw": 0.965, "sheng": 0.966}


def _result(heldout: dict[str, float], false_action: float) -> dict[str, Any]:
    return {"sets": {
        "heldout": {"by_language": {lang: {"accuracy": acc, "n_in_scope": 120, "n_oos": 10,
                                           "false_action_rate": 0.0}
                                    for lang, acc in heldout.items()}},
        "massive": {"by_language": {"sw": {"accuracy": 0.8, "n_in_scope": 5, "n_oos": 400,
                                           "false_action_rate": false_action}}},
    }}


@pytest.fixture
def injected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[threading.Event]:
    """A trainer that reports an epoch then waits for the test; an evaluator reading the
    figures the 'model file' holds; the registry under tmp_path."""
    release = threading.Event()
    served = tmp_path / "assistant.tar.gz"
    served.write_text(json.dumps({"heldout": GOOD, "false_action": 0.008}))

    def train(job: TrainJob, progress: Callable[[str], None]) -> Path:
        progress("training, part 1: epoch 1/2")
        release.wait(60)
        progress("training, part 1: epoch 2/2")
        out = job.out_dir / f"{job.name}.tar.gz"
        out.write_text(json.dumps({"heldout": {**GOOD, "en": 0.97}, "false_action": 0.004}))
        return out

    def evaluate(model: Path, data: Path, limit: int) -> dict[str, Any]:
        spec = json.loads(model.read_text())
        return _result(spec["heldout"], spec["false_action"])

    monkeypatch.setattr(nlu_models, "TRAINER", train)
    monkeypatch.setattr(nlu_models, "EVALUATOR", evaluate)
    monkeypatch.setattr(nlu_models, "SERVED_MODEL", served)
    monkeypatch.setattr(nlu_models, "models_dir", lambda ctx: tmp_path / "registry")
    yield release
    release.set()


@pytest.fixture
def operator(shop_ctx: Context) -> Iterator[str]:
    email = staff("data")
    with shop_ctx.db.transaction() as session:
        session.execute(update(User).where(User.email == email).values(is_operator=True))
    yield email
    with shop_ctx.db.transaction() as session:
        session.execute(update(User).where(User.email == email).values(is_operator=False))


def test_queue_candidate_gated_promotion_and_rollback(
        browser: Browser, shop_ctx: Context, rasa: FakeRasa, injected: threading.Event,
        operator: str) -> None:
    with shop_ctx.db.transaction() as session:
        row = NluClassification(tenant_id=SHOP, message_id=uuid.uuid4().hex,
                                text="mnauza mikoba ya ngozi?", intent="nlu_fallback",
                                confidence=0.4, language="sw",
                                ranking=[{"name": "nlu_fallback", "confidence": 0.4}],
                                entities=[], created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        message = row.id

    # The queue: a decision, then the candidate data.
    browser.sign_in(operator)
    browser.follow(By.LINK_TEXT, "NLU review", expect="#review-filters")
    Select(browser.driver.find_element(By.ID, f"intent-{message}")).select_by_value(
        "browse_products")
    browser.submit(f"#message-{message} button[value=intent]", expect="p.notice")
    browser.submit("#write-candidate", expect="#candidate-result")
    assert any("mnauza mikoba ya ngozi" in line
               for line in browser.texts("#candidate-result ul.written li"))

    # Build a candidate: queued, then its training progress on a page that refreshes itself.
    browser.follow(By.LINK_TEXT, "NLU models", expect="#model-actions")
    browser.driver.find_element(By.ID, "m-note").send_keys("mikoba")
    browser.submit("#build-model", expect="p.notice")
    assert browser.text("p.notice").startswith("Candidate queued")
    browser.wait.until(lambda d: "epoch 1/2" in d.page_source, "no training progress shown")
    card = browser.driver.find_element(By.CSS_SELECTOR, ".model-card.status-training")
    assert "epoch 1/2" in card.find_element(By.CSS_SELECTOR, ".model-progress").text
    assert browser.driver.find_elements(By.CSS_SELECTOR, "meta[http-equiv=refresh]")
    assert not browser.driver.find_element(By.ID, "build-model").is_enabled()
    browser.shoot("models-training")
    injected.set()
    shop_ctx.jobs.drain(timeout=60)

    # The card: figures and the gate's reasons against the promoted (served) model.
    browser.wait.until(lambda d: "status-ready" in d.page_source, "the candidate is not ready")
    browser.open("/app/models")
    candidate = browser.driver.find_element(By.CSS_SELECTOR, ".model-card.status-ready")
    served = browser.driver.find_element(By.CSS_SELECTOR, ".model-card.status-promoted")
    candidate_id = candidate.get_attribute("id").removeprefix("model-")
    served_id = served.get_attribute("id").removeprefix("model-")
    gate = candidate.find_element(By.CSS_SELECTOR, ".model-gate").text
    assert f"Gate passed (against model {served_id})" in gate
    assert "held-out en: 97.0 % vs 96.0 % promoted (+1.0 points)" in gate
    assert "false actions massive sw: 0.40 %" in gate
    assert "mikoba" in candidate.text and "97.0 %" in candidate.text
    browser.shoot("models-ready")

    # Promote: the stand-in rasa is asked to load the candidate's file.
    before = len(rasa.requests)
    browser.submit(f"#promote-{candidate_id}", expect="p.notice")
    shop_ctx.jobs.drain(timeout=60)
    browser.open("/app/models")
    promoted = browser.driver.find_element(By.ID, f"model-{candidate_id}")
    assert "status-promoted" in promoted.get_attribute("class")
    assert "user:" in promoted.find_element(By.CSS_SELECTOR, ".model-promoted").text
    puts = [r for r in rasa.requests[before:] if r.method == "PUT"]
    assert [r.raw_path for r in puts] == ["/model"]
    assert puts[0].body["model_file"].endswith(f"model-{candidate_id}.tar.gz")
    assert "status-retired" in browser.driver.find_element(
        By.ID, f"model-{served_id}").get_attribute("class")

    # Roll back: one click, the served model again.
    browser.submit("#rollback-model", expect="p.notice")
    shop_ctx.jobs.drain(timeout=60)
    browser.open("/app/models")
    assert "status-promoted" in browser.driver.find_element(
        By.ID, f"model-{served_id}").get_attribute("class")
    assert "status-retired" in browser.driver.find_element(
        By.ID, f"model-{candidate_id}").get_attribute("class")
    last = [r for r in rasa.requests[before:] if r.method == "PUT"][-1]
    assert last.body["model_file"].endswith("assistant.tar.gz")
    browser.shoot("models-rolled-back")


def test_only_operators_promote(browser: Browser) -> None:
    browser.sign_in(staff("data"))
    browser.open("/app/models")
    assert "platform operators only" in browser.text("#model-actions")
    for button in browser.driver.find_elements(By.CSS_SELECTOR, "button.promote, #rollback-model"):
        assert not button.is_enabled()
