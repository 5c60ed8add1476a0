"""The database killed mid-chat and started again: messages written during a short outage arrive by themselves.

The stack here runs on a MariaDB server of the test's own (tests.support.mariadb), not the shared one,
so that it can be SIGKILLed. A send during the outage stays pending ("Sending…") while chat_svc retries
it behind the gateway (common/retry.py); one answered `unavailable` is kept and resent by the web app
with the same client_msg_id. Either way each message is stored and shown once, with no click.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import NewPage, WebStack, page_factory, start_web_stack
from tests.browser.playwright_api import Page, expect
from tests.browser.test_chat_ui import bodies, send, two_people_in_a_room
from tests.support import mariadb
from tests.support.mariadb import MariaDBServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.mysql, pytest.mark.timeout(240)]

OUTAGE_SECONDS = 3.0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[MariaDBServer]:
    """A MariaDB server of this test's own, on a fresh data directory."""
    with mariadb.own_server(tmp_path) as server:
        yield server


@pytest.fixture
def outage_stack(tmp_path: Path, database: MariaDBServer) -> Iterator[WebStack]:
    """The browser tests' stack, with its databases on the test's own MariaDB server."""
    with start_web_stack(tmp_path / "web-stack", "parley_test_web_outage", server_url=database.url) as started:
        yield started


@pytest.fixture
def outage_page(browser: Browser, outage_stack: WebStack) -> Iterator[NewPage]:
    """Pages of the outage stack's web app, each in a fresh browser context."""
    with page_factory(browser, outage_stack) as make:
        yield make


def pending(page: Page) -> list[str]:
    """The bodies of my messages shown as not confirmed yet."""
    return page.get_by_test_id("pending-message").locator(".message-body").all_inner_texts()


def test_messages_sent_during_a_database_outage_arrive_once_without_a_click(
    outage_page: NewPage, outage_stack: WebStack, database: MariaDBServer, screenshots: Path
) -> None:
    """Two sends during a 3 s outage stay pending, then reach Bob once each; no pending item or banner is left."""
    alice, bob = outage_page(), outage_page()
    two_people_in_a_room(alice, bob, "outage")
    room_id = int(alice.url.rstrip("/").rsplit("/", 1)[1])
    send(alice, "before the outage")
    expect(bob.get_by_test_id("message").filter(has_text="before the outage")).to_be_visible()

    database.kill()
    killed_at = time.monotonic()
    send(alice, "written during the outage")
    send(alice, "and another one")
    expect(alice.get_by_test_id("pending-message")).to_have_count(2)
    expect(alice.get_by_test_id("pending-message").first).to_contain_text("Sending…")
    assert pending(alice) == ["written during the outage", "and another one"]
    alice.screenshot(path=screenshots / "outage-pending.png")
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - killed_at)))
    assert pending(alice) == ["written during the outage", "and another one"], "still pending when it ends"
    database.start()

    expected = ["before the outage", "written during the outage", "and another one"]
    for text in expected[1:]:
        expect(bob.get_by_test_id("message").filter(has_text=text)).to_be_visible(timeout=30_000)
    expect(alice.get_by_test_id("pending-message")).to_have_count(0, timeout=30_000)
    for page in (alice, bob):
        expect(page.get_by_test_id("trouble-banner")).to_have_count(0, timeout=15_000)
        assert bodies(page) == expected
    assert [body for _, body in outage_stack.stored_messages(room_id)] == expected
