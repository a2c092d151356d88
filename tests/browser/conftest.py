"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Chromium comes from the system (`apt-get install chromium`); Playwright's own browser download
cannot work on these machines. Without a browser the tests are skipped — or fail, with
REQUIRE_BROWSER=1 (as in CI). Screenshots go to $SCREENSHOT_DIR (default test-artifacts/screenshots).
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        message = "Chromium (apt-get install chromium) and the playwright package are needed for browser tests"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1)")
        pytest.skip(message)
    # Django refuses ORM calls from a thread with a running event loop; Playwright's sync API runs one.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server, committed_db):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR", "test-artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _sign_offs_need_the_signers_signature(settings):
    """In the browser every sign-off is made as a person makes it, password typed: the rule is on, as in
    production (the root conftest switches it off for tests that sign through lifecycle directly)."""
    settings.SIGN_OFFS_NEED_SIGNATURE = True
