"""The browser side of the end-to-end stories: Debian's Chromium, people at their browsers,
numbered screenshots.

Playwright's own browser download is never used: the stories launch the system Chromium
(``/usr/bin/chromium``, installed by ``.ci/run``) and are skipped where it is missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from tests.desk.workspace_support import PASSWORD

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
]
# Auto-waiting expectations give htmx swaps and page loads this long.
EXPECT_TIMEOUT_MS = 20_000


def status_class(status: str) -> re.Pattern[str]:
    """The class a status badge carries (``status status-<id>``), in any language."""
    return re.compile(rf"(^|\s)status-{status}(\s|$)")


class BrowserUser:
    """One person at their own browser: a context with its own cookies, zone and language."""

    def __init__(self, browser: Any, *, zone: str, locale: str = "en-GB") -> None:
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id=zone, locale=locale
        )
        self.context.set_default_timeout(EXPECT_TIMEOUT_MS)
        self.errors: list[str] = []
        self.page = self.watch(self.context.new_page())

    def watch(self, page: Any) -> Any:
        """Collect script errors and failed requests of a page (asserted empty by stories)."""
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on(
            "response",
            lambda response: (
                self.errors.append(f"{response.status} {response.url}")
                if response.status >= 500
                else None
            ),
        )
        return page

    def sign_in(self, base_url: str, login: str, password: str = PASSWORD) -> None:
        """The portal's password sign-in form (agents use it too)."""
        page = self.page
        page.goto(f"{base_url}/portal/login/")
        form = page.locator("form[action$='/portal/login/']")
        form.locator("input[name=username]").fill(login)
        form.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()


class Screenshots:
    """``tests/artifacts/<preset>/NN-step.png``, numbered in the order they are taken."""

    def __init__(self, preset: str, *, start: int = 1) -> None:
        self.directory = ARTIFACTS / preset
        self.directory.mkdir(parents=True, exist_ok=True)
        self.number = start

    def __call__(self, page: Any, step: str) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.directory / f"{self.number:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        self.number += 1
        return path
