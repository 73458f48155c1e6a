"""Headless Chromium for the browser tests: one driver per session, no network, console checked.

Every test in this folder gets the ``browser`` marker. The folder is skipped, with the reason,
when Chromium or its driver is missing, unless ``KHORASAN_REQUIRE_BROWSER=1`` (as in CI, which
installs Debian's ``chromium`` and ``chromium-driver``): the tests then fail.

Pages are opened from ``file://`` URLs; the browser resolves no host names
(``--host-resolver-rules``), so nothing can reach the internet. A test fails on any SEVERE entry
in the browser console, and ``alert``/``confirm``/``prompt`` are replaced before any page script
runs so that a hostile string that calls them is recorded instead of blocking the page.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent

CHROMIUM = os.environ.get("KHORASAN_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KHORASAN_CHROMEDRIVER", "/usr/bin/chromedriver")

# Runs in every page before its own scripts: record dialogs instead of showing them.
TRAP_DIALOGS = """
window.__dialogs = [];
window.alert = function (m) { window.__dialogs.push(['alert', String(m)]); };
window.confirm = function (m) { window.__dialogs.push(['confirm', String(m)]); return false; };
window.prompt = function (m) { window.__dialogs.push(['prompt', String(m)]); return null; };
"""


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: install chromium and chromium-driver to run browser tests"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    required = os.environ.get("KHORASAN_REQUIRE_BROWSER") == "1"
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            if reason and not required:  # CI sets KHORASAN_REQUIRE_BROWSER=1: fail instead
                item.add_marker(pytest.mark.skip(reason=reason))


def chrome_options(profile: str, block_hosts: bool = True):
    """Options for a headless, sandbox-free, network-free Chromium."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
        "--allow-file-access-from-files",
    ):
        options.add_argument(arg)
    if block_hosts:
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


def start_chrome(profile: str, block_hosts: bool = True):
    """Start headless Chromium with dialogs trapped in every new document."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(
        service=Service(CHROMEDRIVER), options=chrome_options(profile, block_hosts)
    )
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP_DIALOGS})
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


@pytest.fixture(scope="session")
def driver():
    profile = tempfile.mkdtemp(prefix="khorasan-chromium-")
    chrome = start_chrome(profile)
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(driver):
    """The session's browser, its console emptied; fails the test on any SEVERE console entry."""
    driver.get("about:blank")
    driver.get_log("browser")
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    yield driver
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, f"browser console errors: {severe}"


@pytest.fixture
def offline_browser(browser):
    """The browser with every http and https request blocked (file:// pages only)."""
    browser.execute_cdp_cmd(
        "Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]}
    )
    yield browser
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})


def wait_for(driver, script: str, timeout: float = 10.0, what: str = ""):
    """Poll a JavaScript expression until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or script}")
        time.sleep(0.05)


#: Province shapes of our maps: classed provinces, or outlines under points.
PROVINCE_SHAPES = "path.km-province, path.km-outline"


def open_map(driver, path: Path, min_paths: int = 1, selector: str = PROVINCE_SHAPES):
    """Open a saved map and wait until Leaflet has drawn ``min_paths`` shapes of ``selector``."""
    driver.get(Path(path).resolve().as_uri())
    wait_for(
        driver,
        "typeof L !== 'undefined' && document.querySelector('.leaflet-container') !== null && "
        f"document.querySelectorAll({selector!r}).length >= {min_paths}",
        what=f"{Path(path).name} to draw at least {min_paths} of {selector}",
    )
    return driver


@pytest.fixture(scope="session")
def wait():
    """The :func:`wait_for` helper, for tests (tests do not import conftest)."""
    return wait_for


@pytest.fixture(scope="session")
def open_page():
    """The :func:`open_map` helper, for tests."""
    return open_map
