"""A real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium against a live server.

Browser tests are skipped with a reason when /usr/bin/chromium or chromedriver is missing; CI installs them.
Screenshots go to ``test-artifacts/screenshots/`` at the repository root (named in the README).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("TRIALMARK_SCREENSHOTS", REPO / "test-artifacts" / "screenshots"))
CHROMIUM = os.environ.get("TRIALMARK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TRIALMARK_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def _chromium_available():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER}); "
                    "apt-get install chromium chromium-driver")


@pytest.fixture
def browser(_chromium_available, live_server):
    """A Selenium WebDriver on headless Chromium; ``browser.live_url(path)`` → absolute URL."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.implicitly_wait(0)
    driver.set_page_load_timeout(30)
    driver.live_url = lambda path="/": live_server.url + path  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def login(browser):
    """``login(user)`` signs the browser in through the real login form (password 'pw-for-tests')."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    def do(user, password: str = "pw-for-tests"):
        browser.get(browser.live_url("/login/"))
        browser.find_element(By.NAME, "username").send_keys(user.username)
        browser.find_element(By.NAME, "password").send_keys(password)
        browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        WebDriverWait(browser, 10).until(EC.none_of(EC.url_contains("/login/")))

    return do


@pytest.fixture
def screenshot(browser):
    """``screenshot("annotation-page")`` saves test-artifacts/screenshots/annotation-page.png."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take
