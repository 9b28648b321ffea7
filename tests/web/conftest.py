"""Browser tests of the web app: the backend with the demo seed on a fresh SQLite file, served
over real HTTP on loopback (its sandbox tenants send to its own Twilio simulator, a fake Rasa
takes hand-backs), driven by Debian's headless chromium through chromium-driver (selenium).

Screenshots of every page at phone (360x740) and desktop (1280x800) width go to SCREENSHOT_DIR
(default: a directory under pytest's temporary path, printed at the end); they are not committed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from backend.app import create_app
from backend.migrate import upgrade
from backend.seed import seed
from backend.wiring import Context
from tests.backend.conftest import LiveServer, free_port, make_settings
from tests.backend.rasa_fake import FakeRasa

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PASSWORD = "Demo-Staff-Pass-2026"  # the seeded staff's (README "Staff accounts")
SHOP = "demo-shop"
SIZES = {"phone": (360, 740), "desktop": (1280, 800)}
RASA_TOKEN = "web-test-rasa-token"


def staff(role: str, tenant: str = SHOP) -> str:
    return f"{role}@{tenant}.example"


@pytest.fixture(scope="session")
def rasa() -> Iterator[FakeRasa]:
    server = FakeRasa().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa) -> Iterator[LiveServer]:
    """The backend with the demo seed, on a free loopback port."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'backend.db'}"
    upgrade(url)
    port = free_port()
    app: Flask = create_app(make_settings(
        url, backend_port=port, twilio_sandbox_api_url=f"http://127.0.0.1:{port}/sandbox/twilio",
        rasa_url=rasa.url, rasa_token=RASA_TOKEN, session_cookie_secure=False))
    ctx: Context = app.extensions["backend"]
    seed(ctx)
    server = LiveServer(app, port).__enter__()
    yield server
    server.__exit__()
    ctx.jobs.drain(timeout=60)
    ctx.db.dispose()


@pytest.fixture(scope="session")
def shop_ctx(shop: LiveServer) -> Context:
    ctx: Context = shop.app.extensions["backend"]
    return ctx


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    given = os.environ.get("SCREENSHOT_DIR", "").strip()
    where = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    where.mkdir(parents=True, exist_ok=True)
    yield where
    saved = sorted(p.name for p in where.glob("*.png"))
    print(f"\nweb screenshots ({len(saved)}) in {where}:\n  " + "\n  ".join(saved))


def _driver() -> WebDriver:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium and chromium-driver are needed: apt-get install -y chromium "
                    "chromium-driver (scripts/test.sh installs them)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,800", "--lang=en-GB",
                     "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Browser:
    """One person's browser: signing in, visiting pages, screenshots at both widths."""

    def __init__(self, base: str, screenshots: Path) -> None:
        self.base = base
        self.screenshots = screenshots
        self.driver = _driver()
        self.wait = WebDriverWait(self.driver, 20)

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def sign_in(self, email: str, password: str = PASSWORD, here: bool = False) -> None:
        """Fill the sign-in form (of the page the browser is on with here=True)."""
        if not here:
            self.open("/app/login")
        self.driver.find_element(By.ID, "email").send_keys(email)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.submit("form button[type=submit]", expect="nav.main-nav")

    def text(self, css: str) -> str:
        """The text of the current page's element (waited for: a page just submitted may still
        be arriving)."""
        found = self.wait.until(expected_conditions.visibility_of_element_located(
            (By.CSS_SELECTOR, css)), f"no visible {css} on {self.driver.current_url}")
        return str(found.text)

    def texts(self, css: str) -> list[str]:
        return [str(e.text) for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def submit(self, css: str, expect: str = "main") -> None:
        """Click a form's button (or a link) and wait until the page it leads to has replaced
        this one and has loaded (its `expect` element present): the old page's elements (a
        previous notice, the clicked row) are never read for the new one's."""
        self._click((By.CSS_SELECTOR, css), expect, f"submitting {css}")

    def follow(self, by: str, value: str, expect: str = "main") -> None:
        """Click a link found by any locator (e.g. By.LINK_TEXT) and wait for its page, like
        `submit`."""
        self._click((by, value), expect, f"following {value}")

    def _click(self, locator: tuple[str, str], expect: str, what: str) -> None:
        """Find and click; when the page was still being replaced as the button was found (a
        loaded machine: 'Node with given id does not belong to the document', or a stale
        element), the click did not happen: find it again on the page now there."""
        for attempt in range(3):
            old = self.driver.find_element(By.TAG_NAME, "html")
            button = self.wait.until(expected_conditions.element_to_be_clickable(locator),
                                     f"no clickable {locator[1]} on {self.driver.current_url}")
            try:
                button.click()
            except (StaleElementReferenceException, WebDriverException) as error:
                if attempt == 2 or not (isinstance(error, StaleElementReferenceException)
                                        or "does not belong to the document" in str(error)):
                    raise
                continue
            self._arrived(old, expect, what)
            return

    def _arrived(self, old: Any, expect: str, what: str) -> None:
        self.wait.until(_replaced(old), f"{what} did not leave {self.driver.current_url}")
        self.wait.until(lambda driver: driver.execute_script(
            "return document.readyState") == "complete")
        self.wait.until(expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, expect)), f"no {expect} after {what}")

    def shoot(self, name: str) -> list[Path]:
        """The current page at phone and desktop width, whole height."""
        saved = []
        for label, (width, height) in SIZES.items():
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1,
                "mobile": label == "phone"})
            path = self.screenshots / f"{name}-{label}-{width}x{height}.png"
            self.driver.save_screenshot(str(path))
            saved.append(path)
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return saved

    def page_width(self) -> int:
        return int(self.driver.execute_script(
            "return document.documentElement.scrollWidth"))

    def close(self) -> None:
        self.driver.quit()


def _replaced(old: Any) -> Any:
    """A wait condition: `old` (an element) belongs to a page that is gone. selenium's
    staleness_of knows only the stale-element error; chromium also answers 'Node with given id
    does not belong to the document' for a node of the document just replaced."""
    def check(_driver: WebDriver) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False
    return check


@pytest.fixture
def browser_factory(shop: LiveServer, screenshot_dir: Path) -> Iterator[Any]:
    opened: list[Browser] = []

    def make() -> Browser:
        browser = Browser(f"http://127.0.0.1:{shop.port}", screenshot_dir)
        opened.append(browser)
        return browser

    yield make
    for browser in opened:
        browser.close()


@pytest.fixture
def browser(browser_factory: Any) -> Browser:
    made: Browser = browser_factory()
    return made
