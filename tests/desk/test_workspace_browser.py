"""The workspace in a real browser: keyboard shortcuts, htmx actions, live countdowns.

Runs where a Chromium is installed (Debian's package: /usr/bin/chromium); skipped elsewhere.
"""

from __future__ import annotations

import re
import shutil

import pytest
from django.test import Client

from tests.desk.workspace_support import agent_client, wialon_desk, wialon_ticket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine"),
]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # itself are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context
        browser.close()


def signed_in(context, live_server, client: Client):
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def test_keyboard_flow_from_queue_to_accepted_ticket(browser_page, live_server) -> None:
    # given two new tickets, the older one due first
    desk = wialon_desk()
    _, client = agent_client(desk)
    first = wialon_ticket(desk, hours_ago=3, subject="Older request")
    wialon_ticket(desk, hours_ago=1, subject="Newer request")
    page, errors = signed_in(browser_page, live_server, client)
    page.goto(f"{live_server.url}/desk/")

    # j selects the first row, Enter opens it
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/t/{first.reference}/")

    # the clock counts down live (about 9 h left of 12 h)
    countdown = page.locator("details.clock[data-clock='first_response'] [data-countdown]")
    assert re.fullmatch(r"8h 5\dm", countdown.inner_text())

    # r goes to the reply box; typing "a" there is text, not the accept shortcut
    page.keyboard.press("r")
    page.keyboard.type("a draft")
    assert page.input_value("#reply-body") == "a draft"
    assert page.inner_text(".tk-head .status") == "New"

    # out of the field, a accepts through htmx, and the draft survives the re-render
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.wait_for_function("document.querySelector('.tk-head .status').innerText === 'Accepted'")
    assert page.input_value("#reply-body") == "a draft"

    # ? shows the help; g then u jumps to the unassigned queue
    page.keyboard.press("?")
    assert page.locator("#ws-help").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.keyboard.press("u")
    page.wait_for_url("**/desk/q/unassigned/")
    assert "Newer request" in page.inner_text("[data-queue-table]")
    assert "Older request" not in page.inner_text("[data-queue-table]")
    assert errors == []
