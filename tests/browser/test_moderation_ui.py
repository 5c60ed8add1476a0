"""Operators' actions in the web app, live: a take-down, an archive, a restore.

A taken-down message shows as removed by a moderator (unlike a delete); an archived room is
read-only, with a banner and a composer that is off and says why, until it is restored.
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

from common.tokens import auth_metadata
from parley.chat.v1 import moderation_pb2 as mod, moderation_pb2_grpc
from tests.browser.conftest import NewPage, WebStack
from tests.browser.playwright_api import Locator, Page, expect
from tests.browser.test_chat_ui import send, two_people_in_a_room

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

REASON = "reported by members"


def message(page: Page, text: str) -> Locator:
    """The stored message with this text."""
    return page.get_by_test_id("message").filter(has_text=text)


def room_id(page: Page) -> int:
    """The open room's id, from the address bar."""
    found = re.search(r"/rooms/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def moderate(stack: WebStack, call: str, request: object) -> None:
    """Call one ModerationService RPC as the stack's operator."""
    with grpc.insecure_channel(stack.chat_address) as channel:
        stub = moderation_pb2_grpc.ModerationServiceStub(channel)
        getattr(stub, call)(request, metadata=auth_metadata(stack.service_token("operator")), timeout=10)


def composer(page: Page) -> Locator:
    """The room's message box."""
    return page.get_by_role("textbox", name=re.compile("^Message "))


def test_a_take_down_shows_live_as_removed_by_a_moderator(
    new_page: NewPage, web_stack: WebStack, screenshots: Path
) -> None:
    """Bob sees a take-down in place as removed by a moderator, and Alice's own delete as deleted."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "moderated")
    bob.set_viewport_size({"width": 375, "height": 740})  # after the set-up, which uses the sidebar
    for text in ("buy cheap pills now", "oops, wrong room", "see you at lunch"):
        send(alice, text)
        expect(message(bob, text)).to_be_visible()
    room = room_id(alice)

    # An operator takes one message down: Bob sees it go, in place, as removed by a moderator.
    seq = int(message(alice, "buy cheap pills now").get_attribute("data-seq") or 0)
    moderate(web_stack, "TakeDownMessage", mod.TakeDownMessageRequest(room_id=room, seq=seq, reason=REASON))
    removed = bob.locator(f'[data-testid=message][data-seq="{seq}"]')
    expect(removed.get_by_test_id("tombstone")).to_have_text("Removed by a moderator.")
    expect(removed).to_have_class(re.compile(r"\btaken-down\b"))
    expect(bob.get_by_text("buy cheap pills now")).to_have_count(0)

    # Alice deletes her own message: that tombstone says so, differently.
    own = message(alice, "oops, wrong room")
    own.hover()
    own.get_by_role("button", name="Delete").click()
    alice.get_by_role("group", name="Confirm delete").get_by_role("button", name="Delete").click()
    expect(bob.get_by_test_id("tombstone").filter(has_text="This message was deleted.")).to_be_visible()
    alice.screenshot(path=screenshots / "taken-down.png")
    bob.screenshot(path=screenshots / "taken-down-mobile.png")


def test_an_archived_room_is_read_only_until_restored(
    new_page: NewPage, web_stack: WebStack, screenshots: Path
) -> None:
    """After ArchiveRoom both members see a banner and a disabled composer saying why; RestoreRoom undoes it."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "archived")
    bob.set_viewport_size({"width": 375, "height": 740})
    send(alice, "see you at lunch")
    expect(message(bob, "see you at lunch")).to_be_visible()
    room = room_id(alice)

    # The operator archives the room: a banner, and a composer that is off and says why, for both.
    moderate(web_stack, "ArchiveRoom", mod.ArchiveRoomRequest(room_id=room, reason=REASON))
    for page in (alice, bob):
        expect(page.get_by_test_id("archived-banner")).to_contain_text("read-only")
        expect(composer(page)).to_be_disabled()
        expect(page.get_by_test_id("composer-off")).to_contain_text("This room is archived")
    expect(message(alice, "see you at lunch").get_by_role("button", name="Add reaction")).to_have_count(0)
    alice.screenshot(path=screenshots / "archived-room.png")
    bob.screenshot(path=screenshots / "archived-room-mobile.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "archived-room-mobile-dark.png")

    # Restored: the banner goes and Bob can write again.
    moderate(web_stack, "RestoreRoom", mod.RestoreRoomRequest(room_id=room, reason="appeal granted"))
    expect(bob.get_by_test_id("archived-banner")).to_have_count(0)
    expect(composer(bob)).to_be_enabled()
    send(bob, "back again")
    expect(message(alice, "back again")).to_be_visible()
