"""The web app end to end: two people in two browser contexts sign up, make a room and chat."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from auth_svc.service import BAD_CREDENTIALS
from tests.browser.conftest import ACCESS_TOKEN_TTL, NewPage, WebStack
from tests.browser.playwright_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    """A fresh, valid username."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def sign_up(page: Page, username: str) -> None:
    """Create an account through the sign-up form and land in the app, signed in."""
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("navigation", name="Conversations")).to_contain_text(username)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def create_private_room(page: Page, name: str, invite: str) -> None:
    """Create a private room with one invited user, and open it."""
    page.get_by_role("link", name="New room").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Invite by username").fill(invite)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("list", name="Invited")).to_contain_text(invite)
    page.get_by_role("button", name="Create room").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def accept_invitation(page: Page, room: str) -> None:
    """Accept the invitation to a room from the sidebar's Invitations (it arrives live), landing in the room."""
    invitation = page.get_by_role("region", name="Invitations").get_by_role("listitem").filter(has_text=room)
    invitation.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", name=re.compile(room))).to_be_visible()


def two_people_in_a_room(alice: Page, bob: Page, room: str) -> tuple[str, str]:
    """Alice and Bob sign up, Alice makes a private room inviting Bob, he accepts, both have it open; their names."""
    alice_name, bob_name = unique("alice"), unique("bob")
    sign_up(bob, bob_name)
    sign_up(alice, alice_name)
    create_private_room(alice, room, bob_name)
    accept_invitation(bob, room)
    open_room(bob, room)
    return alice_name, bob_name


def open_room(page: Page, name: str) -> None:
    """Open a room from the sidebar."""
    page.get_by_role("navigation", name="Conversations").get_by_role("link", name=re.compile(name)).click()
    expect(page.get_by_role("heading", name=re.compile(name))).to_be_visible()


def send(page: Page, text: str) -> None:
    """Type a message and press Enter."""
    box = page.get_by_role("textbox", name=re.compile("^Message "))
    box.fill(text)
    box.press("Enter")


def bodies(page: Page) -> list[str]:
    """The texts of the stored messages shown, top to bottom."""
    return page.get_by_test_id("message").locator(".message-body").all_inner_texts()


def test_sign_up_validates_and_sign_in_shows_the_gateways_error(new_page: NewPage, screenshots: Path) -> None:
    """Bad input gets helpful messages before sending; a wrong password shows the gateway's message."""
    page = new_page()
    page.goto("/signup")
    page.get_by_label("Username").fill("x")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("A username has at least 3 characters.")).to_be_visible()
    expect(page.get_by_text("A password has at least 8 characters.")).to_be_visible()

    name = unique("carol")
    sign_up(page, name)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("form .form-error")).to_have_text(BAD_CREDENTIALS)
    page.screenshot(path=screenshots / "sign-in-error.png")

    fresh = new_page()
    fresh.goto("/login")
    expect(fresh.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    fresh.screenshot(path=screenshots / "sign-in.png")
    dark = new_page(color_scheme="dark")
    dark.goto("/login")
    expect(dark.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    dark.screenshot(path=screenshots / "sign-in-dark.png")


def test_two_people_chat_with_typing_presence_and_unread(new_page: NewPage, screenshots: Path) -> None:
    """Messages, typing notices, presence and unread counts reach the other person without a reload."""
    alice, bob = new_page(), new_page()
    alice_name, bob_name = unique("alice"), unique("bob")
    sign_up(bob, bob_name)
    sign_up(alice, alice_name)
    create_private_room(alice, "lunch", bob_name)

    # Bob is told about the room he was invited to, with no reload, and accepts.
    accept_invitation(bob, "lunch")
    sidebar = bob.get_by_role("navigation", name="Conversations")
    expect(sidebar.get_by_role("link", name=re.compile("lunch"))).to_be_visible()
    open_room(bob, "lunch")
    expect(alice.get_by_test_id("presence")).to_contain_text(bob_name)
    expect(bob.get_by_test_id("presence")).to_contain_text(alice_name)

    # Typing shows on the other side, then the message arrives.
    alice.get_by_role("textbox", name=re.compile("^Message ")).press_sequentially("pizza at noon?", delay=20)
    expect(bob.get_by_test_id("typing")).to_have_text(f"{alice_name} is typing…")
    alice.get_by_role("textbox", name=re.compile("^Message ")).press("Enter")
    expect(bob.get_by_test_id("message").filter(has_text="pizza at noon?")).to_be_visible()
    expect(bob.get_by_test_id("typing")).to_have_text("")
    send(bob, "yes!\nsee you there")
    expect(alice.get_by_test_id("message").filter(has_text="see you there")).to_be_visible()
    assert bodies(alice) == ["pizza at noon?", "yes!\nsee you there"]
    assert bodies(bob) == bodies(alice)
    expect(alice.locator(".run.own")).to_contain_text("pizza at noon?")

    # Away from the room, Bob's sidebar counts what he has not read.
    bob.get_by_role("link", name="Browse").click()
    expect(bob.get_by_role("heading", name="Public channels")).to_be_visible()
    send(alice, "one")
    send(alice, "two")
    expect(sidebar.get_by_test_id("unread-count")).to_have_text("2")
    bob.screenshot(path=screenshots / "room-list.png")
    open_room(bob, "lunch")
    expect(sidebar.get_by_test_id("unread-count")).to_have_count(0)

    # Edits and deletes of my own messages show on both sides.
    mine = alice.get_by_test_id("message").filter(has_text="two")
    mine.get_by_role("button", name="Edit").click()
    editor = alice.get_by_label("Edit message")
    editor.fill("two (fixed)")
    editor.press("Enter")
    expect(bob.get_by_test_id("message").filter(has_text="two (fixed)")).to_contain_text("(edited)")
    alice.get_by_test_id("message").filter(has_text="one").get_by_role("button", name="Delete").click()
    alice.get_by_role("group", name="Confirm delete").get_by_role("button", name="Delete").click()
    expect(bob.get_by_text("This message was deleted.")).to_be_visible()
    alice.screenshot(path=screenshots / "conversation.png")
    alice.emulate_media(color_scheme="dark")
    alice.screenshot(path=screenshots / "conversation-dark.png")


def test_offline_person_gets_every_missed_message_once_in_order(new_page: NewPage, screenshots: Path) -> None:
    """While one side is offline the other writes; on reconnect each missed message shows once, in order."""
    alice, bob = new_page(), new_page()
    alice_name, _ = two_people_in_a_room(alice, bob, "standup")
    expect(bob.get_by_test_id("presence")).to_contain_text(alice_name)
    send(alice, "before")
    expect(bob.get_by_test_id("message").filter(has_text="before")).to_be_visible()

    bob.context.set_offline(True)
    expect(bob.get_by_test_id("connection-banner")).to_be_visible()
    missed = [f"missed {i}" for i in range(1, 7)]
    for text in missed:
        send(alice, text)
    send(bob, "written offline")
    expect(bob.get_by_test_id("pending-message")).to_contain_text("Sending…")
    expect(alice.get_by_test_id("message").filter(has_text=missed[-1])).to_be_visible()
    bob.screenshot(path=screenshots / "offline-banner.png")
    assert bodies(bob) == ["before"]

    bob.context.set_offline(False)
    expect(bob.get_by_test_id("connection-banner")).to_have_count(0, timeout=20_000)
    expect(bob.get_by_test_id("message").filter(has_text="written offline")).to_be_visible()
    expect(bob.get_by_test_id("pending-message")).to_have_count(0)
    expected = ["before", *missed, "written offline"]
    expect(alice.get_by_test_id("message").filter(has_text="written offline")).to_be_visible()
    assert bodies(bob) == expected
    assert bodies(alice) == expected
    seqs = bob.get_by_test_id("message").evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == list(range(1, len(expected) + 1))


def test_narrow_screen_direct_conversation(new_page: NewPage, web_stack: WebStack, screenshots: Path) -> None:
    """At 375px a direct conversation opens by username, and list and conversation take turns."""
    friend = unique("erin")
    response = httpx.post(f"{web_stack.api_url}/auth/register", json={"username": friend, "password": PASSWORD})
    assert response.status_code == 201, response.text
    page = new_page(width=375, height=740)
    sign_up(page, unique("dana"))
    page.get_by_role("link", name="Message", exact=True).click()
    page.get_by_label("Username").fill("nobody-" + uuid.uuid4().hex[:6])
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("form .form-error")).to_contain_text("There is no user called")
    page.get_by_label("Username").fill(friend)
    page.get_by_role("button", name="Start conversation").click()
    expect(page.get_by_role("heading", name=friend, exact=True)).to_be_visible()
    send(page, "a note to myself")
    expect(page.get_by_test_id("message").filter(has_text="a note to myself")).to_be_visible()
    expect(page.get_by_role("navigation", name="Conversations")).to_be_hidden()
    page.screenshot(path=screenshots / "conversation-mobile.png")
    page.get_by_role("link", name="Back to conversations").click()
    expect(page.get_by_role("navigation", name="Conversations")).to_be_visible()
    page.screenshot(path=screenshots / "room-list-mobile.png")


def stored_refresh_token(page: Page) -> str:
    """The refresh token the page keeps in localStorage."""
    token: str = page.evaluate("() => JSON.parse(localStorage.getItem('parley.session.v1')).session.refresh_token")
    return token


def test_tokens_are_refreshed_and_the_socket_outlives_the_first_token(new_page: NewPage) -> None:
    """The access token is refreshed before it expires and swapped into the open socket (no reconnect)."""
    alice, bob = new_page(), new_page()
    sockets: list[str] = []
    alice.on("websocket", lambda ws: sockets.append(ws.url))
    alice_name, bob_name = unique("alice"), unique("bob")
    sign_up(bob, bob_name)
    sign_up(alice, alice_name)
    signed_up = time.monotonic()
    first = stored_refresh_token(alice)
    create_private_room(alice, "tokens", bob_name)
    accept_invitation(bob, "tokens")

    deadline = signed_up + ACCESS_TOKEN_TTL
    while stored_refresh_token(alice) == first:
        assert time.monotonic() < deadline, "the access token was not refreshed before it expired"
        alice.wait_for_timeout(500)
    # Past the first token's expiry, the same socket still carries messages both ways.
    alice.wait_for_timeout(max(0.0, signed_up + ACCESS_TOKEN_TTL + 2 - time.monotonic()) * 1000)
    send(alice, "still here")
    expect(bob.get_by_test_id("message").filter(has_text="still here")).to_be_visible()
    send(bob, "me too")
    expect(alice.get_by_test_id("message").filter(has_text="me too")).to_be_visible()
    expect(alice.get_by_role("button", name="Sign out")).to_be_visible()
    assert len(sockets) == 1, f"the socket was reopened: {sockets}"
