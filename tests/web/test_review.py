"""The data team's NLU review page in a real browser (headless chromium): a reviewer of the demo
shop finds an unsure message (masked), gives it an intent and an entity, sees the decision with
who and when, writes the candidate data and sees what was written and what was refused (a
held-out evaluation sentence). Runnable alone: `pytest tests/web/test_review.py`."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from backend.models import NluClassification, NluReview
from backend.wiring import Context
from tests.e2e.conftest import ROOT
from tests.web.conftest import SHOP, Browser, staff

sys.path.insert(0, str(ROOT / "scripts"))
from evaluation import datasets  # noqa: E402

CODE, PHONE = "RKT4ZX81QW", "0722334455"


def _unsure(ctx: Context, text: str, language: str) -> int:
    with ctx.db.transaction() as session:
        row = NluClassification(tenant_id=SHOP, message_id=uuid.uuid4().hex, text=text,
                                intent="nlu_fallback", confidence=0.45, language=language,
                                ranking=[{"name": "nlu_fallback", "confidence": 0.45},
                                         {"name": "price_check", "confidence": 0.31}],
                                entities=[], created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        return row.id


def _heldout_sentence() -> str:
    for path in sorted((ROOT / "eval" / "heldout" / "sw").glob("*.yml")):
        for intent, text in datasets.read_rasa_yaml(path):
            if intent and len(text.split()) >= 3:
                return text
    raise AssertionError("no held-out sentence")


def test_a_reviewer_decides_and_writes_the_candidate(browser: Browser, shop_ctx: Context) -> None:
    mine = _unsure(shop_ctx, f"viatu za harusi bei gani? nimetuma {CODE} kutoka {PHONE}", "sw")
    held = _heldout_sentence()
    evaluated = _unsure(shop_ctx, held, "sw")

    browser.sign_in(staff("data"))
    browser.follow(By.LINK_TEXT, "NLU review", expect="#review-filters")
    Select(browser.driver.find_element(By.ID, "f-language")).select_by_value("sw")
    browser.submit("#review-filters button[type=submit]", expect=f"#message-{mine}")
    shown = browser.text(f"#message-{mine} .review-text")
    assert "viatu za harusi" in shown and CODE not in shown and PHONE not in shown
    assert CODE not in browser.driver.page_source and PHONE not in browser.driver.page_source
    browser.shoot("review-queue")

    # The model's best guess is preselected; the reviewer picks another and marks an entity.
    picker = Select(browser.driver.find_element(By.ID, f"intent-{mine}"))
    assert picker.first_selected_option.text == "price_check"
    picker.select_by_value("browse_products")
    browser.driver.find_element(By.ID, f"entities-{mine}").send_keys("category: viatu")
    browser.submit(f"#message-{mine} button[value=intent]", expect="p.notice")
    assert browser.text("p.notice") == "Decision saved."
    assert not browser.driver.find_elements(By.ID, f"message-{mine}")  # no longer pending

    browser.submit(f"#message-{evaluated} button[value=intent]", expect="p.notice")
    Select(browser.driver.find_element(By.ID, "f-status")).select_by_value("reviewed")
    browser.submit("#review-filters button[type=submit]", expect=f"#message-{mine}")
    decision = browser.text(f"#message-{mine} .decision")
    assert "browse_products" in decision and "by user:" in decision
    assert "category: viatu" in decision
    with shop_ctx.db.transaction() as session:
        review = session.query(NluReview).filter_by(classification_id=mine).one()
        assert review.entities == [{"start": 0, "end": 5, "entity": "category",
                                    "value": "viatu"}]

    browser.submit("#write-candidate", expect="#candidate-result")
    written = browser.texts("#candidate-result ul.written li")
    assert any(line.startswith("[viatu](category) za harusi bei gani?") for line in written)
    assert held in " ".join(browser.texts("#candidate-result ul.refused li"))
    assert not any(held in line for line in written)
    assert CODE not in browser.driver.page_source and PHONE not in browser.driver.page_source
    browser.shoot("review-candidate")
