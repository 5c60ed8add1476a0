"""Threads and mentions in the web app: two people reply in a thread, a mention shows a badge and notifies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import NewPage
from tests.browser.playwright_api import Locator, Page, expect
from tests.browser.test_chat_ui import (
    accept_invitation,
    create_private_room,
    open_room,
    send,
    sign_up,
    two_people_in_a_room,
    unique,
)

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

# The Notification API and a hidden tab, as a page sees them: headless Chromium is always visible
# and shows no notifications, so the page gets a stand-in that records what it would show.
FAKE_NOTIFICATIONS = """
window.__shown = [];
window.__hidden = false;
Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
class FakeNotification {
  static permission = "default";
  static async requestPermission() { FakeNotification.permission = "granted"; return "granted"; }
  constructor(title, options) { window.__shown.push({ title, body: options.body, tag: options.tag }); }
  close() {}
}
window.Notification = FakeNotification;
"""


def timeline(page: Page) -> Locator:
    """The room's main timeline."""
    return page.get_by_role("main").get_by_test_id("message-list")


def thread_panel(page: Page) -> Locator:
    """The open thread's side panel."""
    return page.get_by_role("complementary", name="Thread")


def reply(page: Page, text: str, also_in_room: bool = False) -> None:
    """Type a reply in the open thread and press Enter."""
    panel = thread_panel(page)
    if also_in_room:
        panel.get_by_role("checkbox", name=re.compile("Also send to")).check()
    box = panel.get_by_role("textbox", name="Reply in thread")
    box.fill(text)
    box.press("Enter")


def test_two_people_hold_a_thread_and_the_summary_follows_live(new_page: NewPage, screenshots: Path) -> None:
    """Replies stay in their thread unless also sent to the room; both see the summary; a reconnect loses none."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "design")
    send(alice, "shall we ship on friday?")
    root = bob.get_by_test_id("message").filter(has_text="shall we ship on friday?")
    expect(root).to_be_visible()

    # Bob answers in a thread: the panel shows the root and his reply; the room's timeline does not.
    root.get_by_role("link", name="Reply in thread").click()
    expect(thread_panel(bob).get_by_test_id("message").filter(has_text="shall we ship on friday?")).to_be_visible()
    reply(bob, "yes, right after the demo")
    expect(thread_panel(bob).get_by_test_id("message").filter(has_text="right after the demo")).to_be_visible()
    expect(timeline(bob).get_by_test_id("message").filter(has_text="right after the demo")).to_have_count(0)

    # Alice sees the summary appear under the root without a reload, and opens the thread from it.
    summary = timeline(alice).get_by_test_id("thread-summary")
    expect(summary).to_contain_text("1 reply")
    summary.click()
    expect(thread_panel(alice).get_by_test_id("message").filter(has_text="right after the demo")).to_be_visible()
    reply(alice, "great, I will tell the others", also_in_room=True)

    # A reply also sent to the room shows in both places; both summaries count two replies.
    expect(thread_panel(bob).get_by_test_id("message").filter(has_text="tell the others")).to_be_visible()
    in_room = timeline(bob).get_by_test_id("message").filter(has_text="tell the others")
    expect(in_room).to_contain_text("in a thread")
    for page in (alice, bob):
        expect(timeline(page).get_by_test_id("thread-summary")).to_contain_text("2 replies")
    expect(thread_panel(bob).locator(".room-meta")).to_contain_text("2 replies")
    bob.screenshot(path=screenshots / "thread.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "thread-dark.png")
    bob.emulate_media(color_scheme="light")

    # Bob drops off; the replies written meanwhile reach his open thread once, in order.
    bob.context.set_offline(True)
    expect(bob.get_by_test_id("connection-banner")).to_be_visible()
    reply(alice, "missed reply one")
    reply(alice, "missed reply two")
    expect(thread_panel(alice).get_by_test_id("message").filter(has_text="missed reply two")).to_be_visible()
    bob.context.set_offline(False)
    expect(bob.get_by_test_id("connection-banner")).to_have_count(0, timeout=20_000)
    expect(thread_panel(bob).get_by_test_id("message").filter(has_text="missed reply two")).to_be_visible()
    texts = thread_panel(bob).get_by_test_id("message").locator(".message-body").all_inner_texts()
    assert texts == [
        "shall we ship on friday?",
        "yes, right after the demo",
        "great, I will tell the others",
        "missed reply one",
        "missed reply two",
    ]
    expect(timeline(bob).get_by_test_id("thread-summary")).to_contain_text("4 replies")

    # At 375 px the thread takes the whole pane, and closing it leads back to the room.
    bob.set_viewport_size({"width": 375, "height": 740})
    expect(bob.get_by_role("main")).to_be_hidden()
    bob.screenshot(path=screenshots / "thread-mobile.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "thread-mobile-dark.png")
    thread_panel(bob).get_by_role("link", name="Close thread").click()
    expect(thread_panel(bob)).to_have_count(0)
    expect(timeline(bob).get_by_test_id("thread-summary")).to_contain_text("4 replies")


def test_a_mention_shows_a_badge_and_notifies_unless_muted(new_page: NewPage, screenshots: Path) -> None:
    """A mention raises a badge and, in a hidden tab, a notification; a muted room counts it but stays silent."""
    alice, bob = new_page(), new_page()
    bob.add_init_script(FAKE_NOTIFICATIONS)
    alice_name, bob_name = unique("alice"), unique("bob")
    sign_up(bob, bob_name)
    sign_up(alice, alice_name)
    create_private_room(alice, "review", bob_name)
    create_private_room(alice, "lunch", bob_name)
    accept_invitation(bob, "review")
    accept_invitation(bob, "lunch")

    # Notifications are offered on a click, and only then asked for.
    assert bob.evaluate("Notification.permission") == "default"
    bob.get_by_role("button", name="Enable notifications").click()
    expect(bob.get_by_role("button", name="Enable notifications")).to_have_count(0)
    assert bob.evaluate("Notification.permission") == "granted"

    # Bob looks away; Alice mentions him in the other room.
    bob.evaluate("window.__hidden = true")
    # Alice picks him from the @ list (the room's members, and @room in a private room).
    open_room(alice, "review")
    box = alice.get_by_role("textbox", name=re.compile("^Message "))
    box.press_sequentially("@" + bob_name[:2])
    suggestions = alice.get_by_role("listbox", name="People to mention")
    expect(suggestions.get_by_role("option")).to_have_text([f"@{bob_name}"])
    box.fill("")
    box.press_sequentially("@r")
    expect(suggestions.get_by_role("option", name=re.compile("@room"))).to_be_visible()
    box.fill("")
    box.press_sequentially("@" + bob_name[:3])
    alice.screenshot(path=screenshots / "mention-complete.png")
    box.press("Enter")
    expect(box).to_have_value(f"@{bob_name} ")
    box.press_sequentially("can you look at the draft?")
    box.press("Enter")
    sidebar = bob.get_by_role("navigation", name="Conversations")
    review = sidebar.get_by_role("link", name=re.compile("review"))
    expect(review.get_by_test_id("mention-count")).to_have_text("@1")
    shown = bob.evaluate("window.__shown")
    assert [(n["title"], n["body"]) for n in shown] == [
        (f"{alice_name} in #review", f"@{bob_name} can you look at the draft?")
    ]
    bob.screenshot(path=screenshots / "mention-badge.png")

    # Bob mutes the room: the next mention counts but does not notify.
    bob.evaluate("window.__hidden = false")
    open_room(bob, "review")
    expect(review.get_by_test_id("mention-count")).to_have_count(0)
    bob.get_by_label("Notifications for this room").select_option("none")
    expect(bob.get_by_label("Notifications for this room")).to_have_value("none")
    open_room(bob, "lunch")
    bob.evaluate("window.__hidden = true")
    send(alice, f"again, @{bob_name}")
    expect(review.get_by_test_id("mention-count")).to_have_text("@1")
    expect(review).to_contain_text("(muted)")
    assert len(bob.evaluate("window.__shown")) == 1
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "mention-badge-dark.png")
    bob.set_viewport_size({"width": 375, "height": 740})
    bob.get_by_role("link", name="Back to conversations").click()
    bob.screenshot(path=screenshots / "mention-badge-mobile-dark.png")
    bob.emulate_media(color_scheme="light")
    bob.screenshot(path=screenshots / "mention-badge-mobile.png")

    # The level is the server's: after a reload it is still muted.
    bob.reload()
    open_room(bob, "review")
    expect(bob.get_by_label("Notifications for this room")).to_have_value("none")
