"""Playwright on Debian's Chromium against pytest-django's live server.

Every page a test opens is watched: a console error, an uncaught exception, a Content-Security-
Policy violation, a failed request or an HTTP error response fails the test (`watch.assert_clean`
runs after every test, and tests call it at checkpoints to fail close to the cause).

The journeys also take the screenshots in docs/screenshots (1280x800), only when asked:
    HEARTH_SCREENSHOTS=1 .venv/bin/pytest tests/browser
"""

import io
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    sync_playwright,
)

from config.celery import app as celery_app
from tests.conftest import CHROMIUM, require

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI containers run as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
DEMO_PASSWORD = "hearth-demo"
# (login, name, role label shown on the home page)
DEMO_STAFF = {
    "admin": ("admin@demo.hearth", "Ada Admin", "Admin"),
    "manager": ("manager@demo.hearth", "Maya Manager", "Community manager"),
    "moderator": ("moderator@demo.hearth", "Moe Moderator", "Moderator"),
    "viewer": ("exec@demo.hearth", "Eve Executive", "Executive (read-only)"),
}

# Injected before any page script; CSP does not apply to it. Chromium already logs a console
# error for each violation, this names the directive and the blocked resource plainly.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    require(bool(executable), "needs Debian's chromium at /usr/bin/chromium (apt install chromium)")
    # Playwright's sync API keeps an asyncio loop running in this thread, so Django would refuse
    # ORM calls from the test body (SynchronousOnlyOperation). The test code is plain synchronous
    # code that only happens to share the thread with the loop; the flag is set only while the
    # browser is up and restored after this package.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(autouse=True)
def eager_tasks() -> Iterator[None]:
    """Tasks enqueued by the live server (the invitation email) run in its thread at once.

    A real publish would leave messages in the shared broker (`.run/broker/` or Redis), where a
    developer's `make run` worker would pick them up against the wrong database. The real worker
    and broker are covered by tests/integration."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def demo(transactional_db: None) -> None:
    """The demo community and its four logins, exactly as `make run` seeds them."""
    call_command("seed_demo", stdout=io.StringIO())


@dataclass
class PageWatch:
    """Everything that went wrong on the pages of one browser context."""

    problems: list[str] = field(default_factory=list)
    # HTTP errors a test provokes on purpose (the 404 page), as regular expressions on the URL.
    expected_statuses: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)

    def expect_status(self, status: int, url_pattern: str) -> None:
        self.expected_statuses.append((status, re.compile(url_pattern)))

    def _expected(self, status: int, url: str) -> bool:
        return any(s == status and p.search(url) for s, p in self.expected_statuses)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every 4xx/5xx as "Failed to load resource": one a test provokes on
        # purpose (the 404 page) is not an error; any other is, here and in on_response.
        if message.text.startswith("Failed to load resource") and self._expected_resource(message):
            return
        self.problems.append(f"console error: {message.text} at {message.location.get('url')}")

    def _expected_resource(self, message: ConsoleMessage) -> bool:
        url = message.location.get("url", "")
        match = re.search(r"status of (\d{3})", message.text)
        return bool(match) and self._expected(int(match.group(1)), url)

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def on_request_failed(self, request: Request) -> None:
        # Chromium aborts what a page was still loading when the user moves on (the favicon of a
        # page left at once) and the navigation a download replaces. A broken resource shows up
        # as an HTTP error or a console error instead, so an abort alone is not a failure.
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def on_response(self, response: Response) -> None:
        if response.status >= 400 and not self._expected(response.status, response.url):
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    def assert_clean(self) -> None:
        problems, self.problems = self.problems, []
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def new_page(browser: Browser, live_server, watch: PageWatch) -> Iterator[Callable[[], Page]]:
    """new_page() -> a page in a fresh browser context (its own cookies: its own login)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=VIEWPORT, accept_downloads=True, locale="en-GB"
        )
        contexts.append(context)
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_REPORTER)
        context.on("console", watch.on_console)
        context.on("weberror", lambda web_error: watch.on_page_error(web_error.error))
        context.on("requestfailed", watch.on_request_failed)
        context.on("response", watch.on_response)
        return context.new_page()

    try:
        yield make
        watch.assert_clean()
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


def shoot(page: Page, name: str) -> None:
    """With HEARTH_SCREENSHOTS=1, save what the page shows as docs/screenshots/<name>.png."""
    if os.environ.get("HEARTH_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)  # no hover effects
    page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled", caret="hide")


def log_in(page: Page, role: str) -> None:
    """Sign in through the real login page as one of the demo logins."""
    email, _name, _label = DEMO_STAFF[role]
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/c/demo/$"))
