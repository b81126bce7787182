"""Fixtures for the browser tests: a real uvicorn on a free port and Debian's chromium via Playwright.

Every page fails its test on a console error, an uncaught page error, or a request to any host
other than 127.0.0.1 (such requests are aborted and recorded). The tests skip only when chromium
is missing *and* CI is unset; with CI=true a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_helpers import PageGuard, guard_page, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def _chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK) or shutil.which("chromium") is not None


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The app (create_app()) on a real uvicorn; yields its base URL."""
    from unrolled.server.app import create_app

    with serve(create_app()) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    """One headless chromium per test module (skipped only outside CI when it is missing).

    Module scope, not session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, which would break every later test that calls asyncio.run()."""
    if not _chromium_available():
        if os.environ.get("CI"):
            pytest.fail(f"chromium is missing at {CHROMIUM} and CI is set: the browser tests must run")
        pytest.skip("chromium is not installed (set CI=true to make this a failure)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield browser
        browser.close()


@pytest.fixture
def guard() -> PageGuard:
    """The current test's page guard (inspect it, or let the page fixture fail on it)."""
    return PageGuard()


@pytest.fixture
def page(browser, guard: PageGuard):
    """A fresh 1280×800 page, guarded; the test fails afterwards if the guard recorded anything."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    guard_page(page, guard)
    yield page
    context.close()
    problems = guard.problems()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """tests/browser/screenshots (git-ignored), created on demand."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
