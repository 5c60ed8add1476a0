"""Browser tests: the built web app in headless Chromium against real auth_svc, chat_svc and gateway.

`web_stack` starts the three services on fresh parley_test_web_* MySQL databases, then the built
Next.js standalone server (webapp/.next/standalone/server.js) on a free port, with the gateway's
CORS allowing that origin and GATEWAY_PUBLIC_URL telling the page where the gateway is.
`browser` is one Chromium (Debian's /usr/bin/chromium, driven by Python playwright) for the session;
`new_page` opens pages in fresh browser contexts (separate localStorage: separate users).

Without Chromium, playwright or a built web app the tests are skipped with the reason, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest

from tests.support import mysql
from tests.support.processes import ROOT, ServiceProcess, run_command, start_service

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
WEBAPP = ROOT / "webapp"
SERVER_JS = WEBAPP / ".next" / "standalone" / "server.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
GATEWAY_SECRET = "gw-web-test-secret-0123456789"
ACCESS_TOKEN_TTL = 30
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it (the suite runs with --strict-markers).
    config.addinivalue_line("markers", "browser: drives the built web app in headless Chromium")


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


def free_port() -> int:
    """A port nobody listens on right now (bind to 0, read it, close)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_http(url: str, what: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} never answered {url}")
        time.sleep(0.1)


@dataclass
class WebStack:
    """The running services and web app."""

    web_url: str
    gateway_url: str
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"{self.gateway_url}/api/v1"


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    """auth_svc, chat_svc and the gateway on fresh parley_test_web_* databases, and the built web app."""
    _require_browser_setup()
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    web_port = free_port()
    web_origin = f"http://127.0.0.1:{web_port}"
    env = {
        "AUTH_HOST": "127.0.0.1",
        "AUTH_PORT": "0",
        "AUTH_DATABASE_URL": mysql.fresh_database("parley_test_web_auth"),
        "AUTH_KEYS_DIR": str(tmp_path_factory.mktemp("web-auth-keys")),
        "AUTH_SERVICE_CLIENTS": orjson.dumps({"edge_gateway": GATEWAY_SECRET}).decode(),
        # The shortest lifetime auth_svc allows: every test also runs through token refreshes.
        "AUTH_ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL),
        "CHAT_HOST": "127.0.0.1",
        "CHAT_PORT": "0",
        "CHAT_DATABASE_URL": mysql.fresh_database("parley_test_web_chat"),
        "CHAT_SHUTDOWN_GRACE_SECONDS": "5",
    }
    run_command("auth_svc", "migrate", env)
    run_command("chat_svc", "migrate", env)
    processes: list[ServiceProcess] = []
    web: subprocess.Popen[bytes] | None = None
    log_dir = tmp_path_factory.mktemp("web-logs")
    try:
        auth = start_service("auth_svc", env)
        processes.append(auth)
        chat = start_service("chat_svc", {**env, "CHAT_AUTH_ADDRESS": auth.address})
        processes.append(chat)
        gateway = start_service(
            "edge_gateway",
            {
                **env,
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_PORT": "0",
                "GATEWAY_AUTH_ADDRESS": auth.address,
                "GATEWAY_CHAT_ADDRESS": chat.address,
                "GATEWAY_CLIENT_SECRET": GATEWAY_SECRET,
                "GATEWAY_SHUTDOWN_GRACE_SECONDS": "2",
                "GATEWAY_CORS_ORIGINS": orjson.dumps([web_origin]).decode(),
            },
        )
        processes.append(gateway)
        gateway_url = f"http://{gateway.address}"
        _wait_for_http(f"{gateway_url}/healthz", "the gateway")
        web_env = {
            **os.environ,
            "PORT": str(web_port),
            "HOSTNAME": "127.0.0.1",
            "NEXT_TELEMETRY_DISABLED": "1",
            "GATEWAY_PUBLIC_URL": gateway_url,
        }
        with (log_dir / "web.log").open("wb") as log:
            web = subprocess.Popen(
                ["node", str(SERVER_JS)], cwd=SERVER_JS.parent, env=web_env, stdout=log, stderr=subprocess.STDOUT
            )
        _wait_for_http(f"{web_origin}/login", "the web app", web)
        yield WebStack(web_origin, gateway_url, processes)
    finally:
        if web is not None:
            web.terminate()
            try:
                web.wait(10)
            except subprocess.TimeoutExpired:
                web.kill()
                web.wait()
        for process in reversed(processes):
            process.stop()


@pytest.fixture(scope="session")
def browser(web_stack: WebStack) -> Iterator[Browser]:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


NewPage = Callable[..., "Page"]


@pytest.fixture
def new_page(browser: Browser, web_stack: WebStack) -> Iterator[NewPage]:
    """Factory: a page in a fresh browser context (its own storage, so its own user)."""
    contexts: list[Any] = []

    def make(width: int = 1200, height: int = 800, color_scheme: str = "light") -> Page:
        context = browser.new_context(
            base_url=web_stack.web_url,
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,  # type: ignore[arg-type]
            reduced_motion="reduce",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page: Page = context.new_page()
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots of the main screens go (test-artifacts/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
