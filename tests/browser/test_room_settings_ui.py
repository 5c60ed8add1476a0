"""Room settings and roles in the web app: an owner renames, promotes and moderates; the other person sees it live."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import NewPage
from tests.browser.playwright_api import expect
from tests.browser.test_chat_ui import send, two_people_in_a_room

pytestmark = [pytest.mark.browser, pytest.mark.mysql]


def test_owner_renames_promotes_and_deletes_as_moderator(new_page: NewPage, screenshots: Path) -> None:
    """A rename, a role change and a moderator's delete reach the other member live, with who deleted it."""
    alice, bob = new_page(), new_page()
    alice_name, bob_name = two_people_in_a_room(alice, bob, "standup")

    # A plain member is offered no settings form and no delete of others' messages.
    send(alice, "notes at 10")
    notes = bob.get_by_test_id("message").filter(has_text="notes at 10")
    expect(notes).to_be_visible()
    expect(notes.get_by_role("button", name="Delete")).to_have_count(0)
    send(bob, "spam spam spam")

    # The owner deletes it; the tombstone says who did.
    spam = alice.get_by_test_id("message").filter(has_text="spam spam spam")
    spam.get_by_role("button", name="Delete").click()
    alice.get_by_role("group", name="Confirm delete").get_by_role("button", name="Delete").click()
    expect(bob.get_by_text(f"This message was deleted by {alice_name}, a moderator.")).to_be_visible()

    # The owner renames the room and sets a topic; Bob's header follows without a reload.
    alice.get_by_role("link", name="Room settings and members").click()
    alice.get_by_label("Name", exact=True).fill("daily standup")
    alice.get_by_label("Topic").fill("what we did, what we do")
    alice.get_by_role("button", name="Save settings").click()
    expect(alice.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(bob.get_by_role("heading", name=re.compile("daily standup"))).to_be_visible()
    expect(bob.locator(".room-meta")).to_contain_text("what we did, what we do")

    # Bob becomes a moderator: his settings page offers the form.
    alice.get_by_label(f"Role of {bob_name}").select_option("moderator")
    expect(alice.get_by_label(f"Role of {bob_name}")).to_have_value("moderator")
    alice.screenshot(path=screenshots / "room-settings.png")
    alice.emulate_media(color_scheme="dark")
    alice.screenshot(path=screenshots / "room-settings-dark.png")
    bob.get_by_role("link", name="Room settings and members").click()
    expect(bob.get_by_role("form", name="Room settings")).to_be_visible()
    expect(bob.get_by_test_id("member").filter(has_text="You")).to_contain_text("moderator")
    bob.set_viewport_size({"width": 375, "height": 740})
    bob.screenshot(path=screenshots / "room-settings-mobile.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "room-settings-mobile-dark.png")
