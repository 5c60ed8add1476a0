"""Browser tests: the built web app in headless Chromium against real auth_svc, chat_svc and gateway.

`web_stack` (tests.support.stack) starts the three services on fresh parley_test_web_* MySQL
databases and, beside them, the built Next.js standalone server (webapp/.next/standalone/server.js)
on a free port, with the gateway's CORS allowing that origin and GATEWAY_PUBLIC_URL telling the page
where the gateway is.
`browser` is one Chromium (Debian's /usr/bin/chromium, driven by Python playwright) for the session;
`new_page` opens pages in fresh browser contexts (separate localStorage: separate users).
A test that needs a stack of its own (on a database server it may kill) builds it with `start_web_stack`
and opens its pages with `page_factory`.

Without Chromium, playwright or a built web app the tests are skipped with the reason, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import IN_CI as IN_CI, mysql
from tests.support.processes import ROOT
from tests.support.stack import SERVER_JS, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ACCESS_TOKEN_TTL = 30
WebStack = Stack


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (it is a dev dependency)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not SERVER_JS.exists():
        built = SERVER_JS.relative_to(ROOT)
        return f"the web app is not built ({built} is missing; cd webapp && npm ci && npm run build)"
    if not (SERVER_JS.parent / ".next" / "static").exists():
        return "the standalone build lacks .next/static (run `npm run build`, which copies it)"
    return None


def _require_browser_setup() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def start_web_stack(
    workdir: Path, prefix: str = "parley_test_web", server_url: str = mysql.SERVER_URL
) -> Iterator[Stack]:
    """auth_svc, chat_svc, the gateway and the built web app on fresh `<prefix>_*` databases of server_url.

    Stopped on leaving. Skips (fails under CI=true) without the browser setup; skips without MySQL
    when the databases go on the shared test server.
    """
    _require_browser_setup()
    if server_url == mysql.SERVER_URL and mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    # The shortest access token lifetime auth_svc allows: every test also runs through token refreshes.
    started = Stack(workdir, env={"AUTH_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL)})
    try:
        yield started.create_databases(prefix, server_url=server_url).up(web=True)
    finally:
        started.stop()


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc, chat_svc and the gateway on fresh parley_test_web_* databases, and the built web app."""
    with start_web_stack(tmp_path_factory.mktemp("web-stack")) as started:
        yield started


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    _require_browser_setup()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


NewPage = Callable[..., "Page"]


@contextmanager
def page_factory(browser: Browser, stack: Stack) -> Iterator[NewPage]:
    """Factory of pages of stack's web app, each in a fresh browser context; the contexts closed on leaving."""
    contexts: list[Any] = []

    def make(width: int = 1200, height: int = 800, color_scheme: str = "light") -> Page:
        context = browser.new_context(
            base_url=stack.web_url,
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,  # type: ignore[arg-type]
            reduced_motion="reduce",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page: Page = context.new_page()
        return page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def new_page(browser: Browser, web_stack: Stack) -> Iterator[NewPage]:
    """Factory: a page in a fresh browser context (its own storage, so its own user)."""
    with page_factory(browser, web_stack) as make:
        yield make


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots of the main screens go (test-artifacts/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
