"""Consent in the web app: an invitation arrives live in the sidebar and is accepted or declined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import NewPage
from tests.browser.playwright_api import expect
from tests.browser.test_chat_ui import create_private_room, send, sign_up, unique

pytestmark = [pytest.mark.browser, pytest.mark.mysql]


def test_an_invitation_arrives_live_and_is_accepted_or_declined(new_page: NewPage, screenshots: Path) -> None:
    """Bob invites Alice: she sees it at once, accepts (the room appears), and declines a second one (it goes)."""
    alice, bob = new_page(), new_page()
    alice_name, bob_name = unique("alice"), unique("bob")
    sign_up(alice, alice_name)
    sign_up(bob, bob_name)
    create_private_room(bob, "plans", alice_name)

    invitations = alice.get_by_role("region", name="Invitations")
    offer = invitations.get_by_role("listitem").filter(has_text="plans")
    expect(offer).to_contain_text(f"{bob_name} invited you to plans")
    sidebar = alice.get_by_role("navigation", name="Conversations")
    expect(sidebar.get_by_role("link", name=re.compile("plans"))).to_have_count(0)  # not a member before saying yes
    alice.screenshot(path=screenshots / "invitation.png")
    alice.emulate_media(color_scheme="dark")
    alice.screenshot(path=screenshots / "invitation-dark.png")
    alice.set_viewport_size({"width": 375, "height": 740})
    alice.screenshot(path=screenshots / "invitation-mobile-dark.png")
    alice.emulate_media(color_scheme="light")
    alice.screenshot(path=screenshots / "invitation-mobile.png")
    alice.set_viewport_size({"width": 1200, "height": 800})

    offer.get_by_role("button", name="Accept").click()
    expect(alice.get_by_role("heading", name=re.compile("plans"))).to_be_visible()
    expect(sidebar.get_by_role("link", name=re.compile("plans"))).to_be_visible()
    expect(invitations).to_have_count(0)

    create_private_room(bob, "spam", alice_name)
    second = invitations.get_by_role("listitem").filter(has_text="spam")
    second.get_by_role("button", name="Decline").click()
    expect(invitations).to_have_count(0)
    expect(sidebar.get_by_role("link", name=re.compile("spam"))).to_have_count(0)

    # Bob's room settings say an invitation is sent, not that someone was added.
    bob.get_by_role("link", name="Room settings and members").click()
    bob.get_by_label("Username").fill(alice_name)
    bob.get_by_role("button", name="Send invitation").click()
    expect(bob.get_by_role("form", name="Invite").get_by_role("alert")).to_contain_text("declined an invitation")


def test_a_strangers_message_request_can_be_blocked(new_page: NewPage, screenshots: Path) -> None:
    """A DM request offers Block: it goes, the sender is listed as blocked, and what they send next reaches nobody."""
    alice, mallory = new_page(), new_page()
    alice_name, mallory_name = unique("alice"), unique("mallory")
    sign_up(alice, alice_name)
    sign_up(mallory, mallory_name)
    mallory.get_by_role("link", name="Message", exact=True).click()
    mallory.get_by_label("Username").fill(alice_name)
    mallory.get_by_role("button", name="Start conversation").click()
    expect(mallory.get_by_role("heading", name=alice_name, exact=True)).to_be_visible()

    invitations = alice.get_by_role("region", name="Invitations")
    request = invitations.get_by_role("listitem").filter(has_text=f"{mallory_name} wants to message you")
    expect(request).to_be_visible()
    alice.screenshot(path=screenshots / "message-request.png")
    request.get_by_role("button", name=f"Block {mallory_name}").click()
    expect(invitations).to_have_count(0)
    alice.get_by_text(re.compile(r"Blocked \(1\)")).click()
    expect(alice.get_by_role("button", name=f"Unblock {mallory_name}")).to_be_visible()

    send(mallory, "hello? anyone?")  # into the conversation Alice never joined: she hears nothing
    expect(mallory.get_by_test_id("message").filter(has_text="hello? anyone?")).to_be_visible()
    alice.reload()  # what the server keeps: no request, the block
    expect(alice.get_by_role("navigation", name="Conversations")).to_be_visible()
    expect(invitations).to_have_count(0)
    expect(alice.get_by_text(re.compile(r"Blocked \(1\)"))).to_be_visible()
