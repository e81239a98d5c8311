"""End-to-end stories in a real browser: Debian's Chromium driven by Playwright (see
``tests/e2e/browser.py``). Each story saves a screenshot per step under
``tests/artifacts/<preset>/`` (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, EXPECT_TIMEOUT_MS, BrowserUser


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The system Chromium, headless; one per test so that nothing leaks between stories."""
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium at /usr/bin/chromium (Debian package `chromium`; .ci/run installs it)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
    # are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def people(browser: Any) -> Iterator[Any]:
    """``people(zone=...)`` opens another person's browser context; all close at the end."""
    opened: list[BrowserUser] = []

    def open_person(*, zone: str, locale: str = "en-GB") -> BrowserUser:
        person = BrowserUser(browser, zone=zone, locale=locale)
        opened.append(person)
        return person

    yield open_person
    for person in opened:
        person.context.close()
