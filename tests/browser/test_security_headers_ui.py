"""The web app's security headers (webapp/src/proxy.ts): on pages and assets, and a policy the app runs under."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import NewPage, WebStack
from tests.browser.playwright_api import ConsoleMessage, Page, Response, expect
from tests.browser.test_chat_ui import send, two_people_in_a_room
from tests.browser.test_files_ui import IMAGE_SIZE, attach, chip, composer, message_with, natural_width, png

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

FIXED = {"referrer-policy": "no-referrer", "x-content-type-options": "nosniff", "x-frame-options": "DENY"}

# Added before any of the page's scripts (playwright's init scripts are not subject to the page's CSP).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  window.reportCspViolation(`${event.effectiveDirective} blocked ${blocked} on ${event.documentURI}`);
});
"""


def watch_violations(page: Page) -> list[str]:
    """Every CSP violation the page reports from now on, through navigations: its events and Chromium's console."""
    seen: list[str] = []

    def report(text: str) -> None:
        seen.append(text)

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            seen.append(message.text)

    page.expose_function("reportCspViolation", report)
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", console)
    return seen


def record_responses(page: Page) -> list[Response]:
    """Every response the page gets from now on."""
    responses: list[Response] = []

    def record(response: Response) -> None:
        responses.append(response)

    page.on("response", record)
    return responses


def assert_security_headers(response: Response) -> str:
    """The fixed headers are on response; its Content-Security-Policy."""
    headers = response.all_headers()
    for name, value in FIXED.items():
        assert headers.get(name) == value, f"{name} on {response.url}"
    return headers["content-security-policy"]


def test_pages_and_assets_carry_the_headers_and_the_app_trips_no_violation(
    new_page: NewPage, web_stack: WebStack, screenshots: Path
) -> None:
    """Signing up, chatting live and showing an image run under the policy; every page and asset has the headers."""
    alice, bob = new_page(), new_page()
    violations = [watch_violations(alice), watch_violations(bob)]
    responses = record_responses(alice)

    two_people_in_a_room(alice, bob, "headers")
    send(alice, "said under a strict policy")
    expect(message_with(bob, "said under a strict policy")).to_be_visible()
    attach(alice, ("view.png", "image/png", png()))
    expect(chip(alice, "view.png")).to_have_attribute("data-status", "done")
    send(alice, "with a picture")
    expect(composer(alice).get_by_test_id("upload-chip")).to_have_count(0)
    preview = message_with(bob, "with a picture").get_by_test_id("image-preview")
    thumbnail = preview.locator("img[alt='view.png']")
    expect(thumbnail).to_have_js_property("complete", True)
    assert natural_width(thumbnail) > 0, violations  # the blob: URL of the thumbnail (fetched from the gateway) shows
    preview.click()
    full = bob.get_by_role("dialog", name="view.png").locator("img")
    expect(full).to_have_js_property("naturalWidth", IMAGE_SIZE[0])
    bob.keyboard.press("Escape")
    bob.screenshot(path=screenshots / "csp-conversation.png")

    page = next(r for r in responses if r.request.resource_type == "document" and r.url.endswith("/signup"))
    policy = assert_security_headers(page)
    gateway = web_stack.gateway_url
    assert f"connect-src 'self' {gateway} {gateway.replace('http', 'ws', 1)}" in policy
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # The nonce of the last document is on the scripts Next rendered into it.
    last = [r for r in responses if r.request.resource_type == "document"][-1]
    nonce = re.search(r"'nonce-([^']+)'", assert_security_headers(last))
    assert nonce is not None
    assert alice.locator("script[src]").first.evaluate("script => script.nonce") == nonce.group(1)
    assets = [r for r in responses if "/_next/static/" in r.url]
    assert {Path(r.url).suffix for r in assets} >= {".js", ".css"}
    for asset in assets:
        assert_security_headers(asset)

    assert violations == [[], []]


def test_an_unknown_page_says_so_with_the_headers_and_no_violation(new_page: NewPage, screenshots: Path) -> None:
    """A 404 has the headers, and its page (the app's own, not Next's inline-styled one) trips no violation."""
    page = new_page()
    violations = watch_violations(page)
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    assert_security_headers(response)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.screenshot(path=screenshots / "not-found.png")
    assert violations == []


def test_a_violation_is_seen_by_the_watch(new_page: NewPage) -> None:
    """An image from another origin is blocked and reported: the watch the other tests rely on works."""
    page = new_page()
    violations = watch_violations(page)
    page.goto("/login")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"https://elsewhere.invalid/x.png\">')")
    event = "img-src blocked https://elsewhere.invalid/x.png"
    for _ in range(100):  # the event's report comes through a binding: wait for it briefly
        if any(event in seen for seen in violations):
            break
        page.wait_for_timeout(20)
    assert any(event in seen for seen in violations), violations
    assert any('Content Security Policy directive: "img-src' in seen for seen in violations), violations
