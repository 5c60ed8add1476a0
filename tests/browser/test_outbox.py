"""The outbox in the browser: a message written while the socket is down survives a reload and is stored once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser.conftest import NewPage, WebStack
from tests.browser.playwright_api import expect
from tests.browser.test_chat_ui import PASSWORD, bodies, create_private_room, send, sign_up, unique

if TYPE_CHECKING:
    from playwright.sync_api import Page, WebSocketRoute

pytestmark = [pytest.mark.browser, pytest.mark.mysql]


def stored_bodies(web_stack: WebStack, username: str, room_id: int) -> list[str]:
    """The bodies of the room's stored messages, read over REST as `username`."""
    login = httpx.post(f"{web_stack.api_url}/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["session"]["access_token"]
    page = httpx.get(f"{web_stack.api_url}/rooms/{room_id}/messages", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200, page.text
    return [message["body"] for message in page.json()["messages"]]


def pending(page: Page) -> list[str]:
    """The bodies of my messages shown as not confirmed yet."""
    return page.get_by_test_id("pending-message").locator(".message-body").all_inner_texts()


def test_a_message_written_offline_survives_a_reload_and_is_stored_once(
    new_page: NewPage, web_stack: WebStack, screenshots: Path
) -> None:
    """Written with the socket down, a message stays pending through a reload, then is stored and shown once."""
    bob = unique("bob")
    registered = httpx.post(f"{web_stack.api_url}/auth/register", json={"username": bob, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    page = new_page()
    context = page.context
    gateway_down = False

    def socket_route(ws: WebSocketRoute) -> None:
        # While "down", every socket the page opens is closed at once (REST keeps working).
        if gateway_down:
            ws.close()
        else:
            ws.connect_to_server()

    context.route_web_socket(re.compile(r"/api/v1/ws$"), socket_route)
    sign_up(page, unique("alice"))
    create_private_room(page, "drafts", bob)
    room_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    bob_login = httpx.post(f"{web_stack.api_url}/auth/login", json={"username": bob, "password": PASSWORD})
    accepted = httpx.post(
        f"{web_stack.api_url}/invitations/{room_id}/accept",
        headers={"Authorization": f"Bearer {bob_login.json()['session']['access_token']}"},
    )
    assert accepted.status_code < 300, accepted.text  # bob reads the room's messages below, as a member
    # A second tab of the same user (same localStorage): it sees the pending send and resends it too.
    tab = context.new_page()
    tab.goto(page.url)
    send(page, "before")
    expect(tab.get_by_test_id("message").filter(has_text="before")).to_be_visible()

    gateway_down = True
    context.set_offline(True)
    expect(page.get_by_test_id("connection-banner")).to_be_visible()
    send(page, "written offline")
    expect(page.get_by_test_id("pending-message")).to_contain_text("Sending…")
    expect(tab.get_by_test_id("pending-message")).to_contain_text("written offline")
    context.set_offline(False)  # the network is back, the socket still cannot connect
    page.reload()
    expect(page.get_by_test_id("pending-message")).to_contain_text("written offline")
    expect(page.get_by_test_id("connection-banner")).to_be_visible()
    assert pending(page) == ["written offline"]
    assert stored_bodies(web_stack, bob, room_id) == ["before"]
    page.screenshot(path=screenshots / "outbox-after-reload.png")

    gateway_down = False
    context.set_offline(True)  # a blip, so that both tabs reconnect at once instead of after their backoff
    context.set_offline(False)
    for each in (page, tab):
        expect(each.get_by_test_id("message").filter(has_text="written offline")).to_be_visible(timeout=20_000)
        expect(each.get_by_test_id("pending-message")).to_have_count(0)
        assert bodies(each) == ["before", "written offline"]
    assert stored_bodies(web_stack, bob, room_id) == ["before", "written offline"]
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('parley.outbox.'))") == []
