"""The designers' simulator in a browser, on the real stack (tests/e2e/conftest.py starts it:
backend, RQ worker, action server and rasa with the trained model in models/, its own Redis and
state directory; sandbox mode with the Twilio simulator's list pickers and reply buttons on): a
designer signs in, talks to the assistant through the signed webhook, taps a list row, sees the
debug view (with each turn's backend calls: the catalog's products route), takes back a message,
saves the conversation as a test story, and that story passes scripts/test_stories.py
(`rasa test core --fail-on-prediction-errors`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.e2e.conftest import ROOT, free_port, group_alive
from tests.web.conftest import Browser, staff



@pytest.fixture(scope="module")
def real_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed: run the browser tests through `make test`")
    var_dir = tmp_path_factory.mktemp("simulator-stack")
    stories = tmp_path_factory.mktemp("saved-stories")
    env = {**os.environ, "VAR_DIR": str(var_dir), "BACKEND_PORT": str(free_port()),
           "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()),
           "REDIS_PORT": str(free_port()), "BACKEND_WORKERS": "2",
           "SANDBOX": "1", "SANDBOX_INTERACTIVE": "1", "SESSION_COOKIE_SECURE": "0",
           "SIMULATOR_STORIES_DIR": str(stories)}
    for key in ("DATABASE_URL", "BACKEND_URL", "ACTION_SERVER_URL", "RASA_URL", "REDIS_URL",
                "TWILIO_SANDBOX_API_URL", "RASA_TRACKER_DB", "ACTIONS_HOST", "PUBLIC_URL",
                "WHATSAPP_PUBLIC_URL"):
        env.pop(key, None)
    seed = ("source scripts/env.sh && .venv/bin/python -m backend.migrate && "
            ".venv/bin/python -m backend.seed")
    subprocess.run(["bash", "-c", seed], cwd=ROOT, env=env, check=True, timeout=300)
    try:
        subprocess.run(["scripts/stack.sh", "up"], cwd=ROOT, env=env, check=True, timeout=600)
        yield env
    finally:
        groups = [int(p.read_text()) for p in (var_dir / "run").glob("*.pid")]
        subprocess.run(["scripts/stack.sh", "down"], cwd=ROOT, env=env, timeout=180)
        for pgid in [g for g in groups if group_alive(g)]:
            os.killpg(pgid, signal.SIGKILL)


def _count(browser: Browser, css: str, at_least: int, timeout: float = 30) -> None:
    WebDriverWait(browser.driver, timeout).until(
        lambda driver: len(driver.find_elements(By.CSS_SELECTOR, css)) >= at_least,
        f"fewer than {at_least} {css} on {browser.driver.current_url}")


def _exactly(browser: Browser, css: str, count: int, timeout: float = 30) -> None:
    WebDriverWait(browser.driver, timeout).until(
        lambda driver: len(driver.find_elements(By.CSS_SELECTOR, css)) == count,
        f"not {count} {css} on {browser.driver.current_url}")


def _say(browser: Browser, text: str) -> None:
    field = browser.driver.find_element(By.ID, "text")
    field.send_keys(text)
    browser.driver.find_element(By.ID, "send").click()


def _backend_calls(browser: Browser, text: str) -> list[tuple[str, ...]]:
    """The rows (method, path, status, ms) of the backend calls table of the turn whose heading
    shows `text` (none: an empty list)."""
    for turn in browser.driver.find_elements(By.CSS_SELECTOR, "#turns .turn"):
        if text in turn.find_element(By.TAG_NAME, "h3").text:
            return [tuple(cell.text for cell in row.find_elements(By.TAG_NAME, "td"))
                    for row in turn.find_elements(By.CSS_SELECTOR, ".backend-calls tr")
                    if row.find_elements(By.TAG_NAME, "td")]
    return []


def _shows_call(browser: Browser, text: str, wanted: Callable[[tuple[str, ...]], bool]) -> None:
    """Wait until the turn showing `text` lists a backend call `wanted` accepts (the view is
    redrawn when replies arrive: a table read as it is replaced is read again)."""
    WebDriverWait(browser.driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _: any(wanted(row) for row in _backend_calls(browser, text)),
        f"no such backend call in the turn {text!r}")


def test_a_designer_talks_debugs_and_saves_a_story_that_passes(
        real_stack: dict[str, str], screenshot_dir: Path) -> None:
    base = f"http://127.0.0.1:{real_stack['BACKEND_PORT']}"
    browser = Browser(base, screenshot_dir)
    try:
        browser.sign_in(staff("designer"))
        browser.follow(By.LINK_TEXT, "Simulator", expect="#start-form")
        browser.shoot("simulator-start")
        browser.submit("#start-form button[type=submit]", expect="#simulator")

        _say(browser, "hello")
        _count(browser, ".bubble.theirs", 1)
        assert "Welcome" in browser.texts(".bubble.theirs")[0]
        _count(browser, "#turns .turn", 1)

        _say(browser, "what do you sell?")
        _count(browser, ".bubble.theirs .list-button", 1)
        browser.driver.find_element(By.CSS_SELECTOR, ".bubble.theirs .list-button").click()
        row = browser.wait.until(expected_conditions.element_to_be_clickable(
            (By.CSS_SELECTOR, ".bubble.theirs .list-row")))
        product = row.text
        row.click()
        _count(browser, ".bubble.theirs", 3)
        assert product.rstrip("…") in browser.texts(".bubble.theirs")[2]
        _count(browser, "#turns .turn", 3)
        debug = browser.text("#turns")
        for seen in ("browse_products", "select_option", "action_show_products",
                     "RulePolicy", "LanguageDetector", "last_menu", "ranking", "Backend calls"):
            assert seen in debug, seen
        # The catalog turn lists the backend calls its actions made under its request id.
        _shows_call(browser, "what do you sell?", lambda row: row[:3] == (
            "GET", "/v1/products", "200") and row[3].isdigit())
        # The tapped row's turn fetched the product by its id.
        _shows_call(browser, "/select_option", lambda row: row[0] == "GET" and re.fullmatch(
            r"/v1/products/\d+", row[1]) is not None and row[2] == "200")
        browser.driver.execute_script(
            "document.querySelector('#turns .backend-calls').scrollIntoView()")
        browser.shoot("simulator-backend-calls")
        browser.driver.execute_script("document.getElementById('simulator').scrollIntoView()")
        browser.shoot("simulator-conversation")

        # A message taken back is gone from the debug view (and from the story).
        _say(browser, "bye")
        _count(browser, ".bubble.theirs", 4)
        _count(browser, "#turns .turn", 4)
        browser.driver.find_element(By.ID, "rewind").click()
        _exactly(browser, "#turns .turn", 3)
        _count(browser, ".bubble.rewound", 2)

        browser.driver.find_element(By.ID, "story-name").send_keys("designer browses")
        browser.driver.find_element(By.ID, "save-story").click()
        result = WebDriverWait(browser.driver, 30).until(
            lambda driver: driver.find_element(By.ID, "story-result").text or None)
        assert "simulator_designer_browses_en.yml" in result
        browser.driver.execute_script("document.getElementById('story-form').scrollIntoView()")
        browser.shoot("simulator-saved")
    finally:
        browser.close()

    saved = Path(real_stack["SIMULATOR_STORIES_DIR"]) / "simulator_designer_browses_en.yml"
    text = saved.read_text(encoding="utf-8")
    assert "story: designer browses (en)" in text and "action_show_products" in text
    assert "goodbye" not in text  # the rewound turn
    started = time.monotonic()
    run = subprocess.run(
        [".venv-rasa/bin/python", "scripts/test_stories.py", str(saved.parent / "results"),
         str(saved)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    print(f"\nscripts/test_stories.py on the saved story: {time.monotonic() - started:.0f} s")
