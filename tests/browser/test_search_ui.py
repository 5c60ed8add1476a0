"""Search in the web app: find an old message by a word, open it in its room with history around it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import NewPage, WebStack
from tests.browser.playwright_api import Page, expect
from tests.browser.test_chat_ui import send, two_people_in_a_room

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

FILLERS = 40  # each, after the old message: 80 newer ones, past the first page (50) and the 25 read after it


def token_of(page: Page) -> str:
    """The signed-in user's access token, as the web app keeps it."""
    token: str = page.evaluate("() => JSON.parse(localStorage.getItem('parley.session.v1')).session.access_token")
    return token


def room_id_of(page: Page) -> int:
    """The id of the room open in the page."""
    found = re.search(r"/rooms/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def post_many(stack: WebStack, token: str, room_id: int, prefix: str, count: int) -> None:
    """Send messages through REST (quicker than typing), waiting out the send rate limit when it answers 429."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=10) as client:
        for n in range(count):
            body = {"client_msg_id": f"{prefix}-{n}", "body": f"{prefix} filler number {n}"}
            while (response := client.post(f"/rooms/{room_id}/messages", json=body)).status_code == 429:
                time.sleep(0.5)
            assert response.status_code == 201, response.text


def test_find_an_old_message_and_jump_to_it(new_page: NewPage, web_stack: WebStack, screenshots: Path) -> None:
    """A word finds a message older than the first page; its hit opens the room there, flashed, history around it."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "lighthouse watch")
    send(alice, "The 🗼 lighthouse keeper retires on Friday")
    expect(bob.get_by_test_id("message").filter(has_text="lighthouse keeper")).to_be_visible()
    room_id = room_id_of(alice)
    post_many(web_stack, token_of(alice), room_id, "alice", FILLERS)
    post_many(web_stack, token_of(bob), room_id, "bob", FILLERS)
    expect(bob.get_by_test_id("message").filter(has_text=f"bob filler number {FILLERS - 1}")).to_be_visible()
    bob.reload()  # a fresh load holds only the newest page, which no longer reaches the old message
    expect(bob.get_by_test_id("message").filter(has_text=f"bob filler number {FILLERS - 1}")).to_be_visible()
    expect(bob.get_by_test_id("message").filter(has_text="lighthouse keeper")).to_have_count(0)

    # Ctrl+K reaches the search box from the conversation; Enter opens the results.
    bob.keyboard.press("Control+k")
    box = bob.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_focused()
    box.fill("lighthouse keep")
    box.press("Enter")
    hits = bob.get_by_test_id("search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("lighthouse watch")
    assert hits.first.locator("mark").all_inner_texts() == ["lighthouse", "keeper"]
    bob.screenshot(path=screenshots / "search-results.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "search-results-dark.png")
    bob.emulate_media(color_scheme="light")

    hits.first.get_by_role("link").click()
    expect(bob).to_have_url(re.compile(rf"/rooms/{room_id}\?seq=\d+$"))
    target = bob.locator("[data-jump-target]")
    expect(target).to_contain_text("lighthouse keeper retires")
    expect(target).to_be_in_viewport()
    # History around it: the message before it (the room's creation had none, so the next ones) is there too.
    expect(bob.get_by_test_id("message").filter(has_text="alice filler number 0")).to_be_visible()
    expect(bob.get_by_role("button", name="Load newer messages")).to_have_count(1)
    bob.screenshot(path=screenshots / "search-jump.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "search-jump-dark.png")

    # The hole below closes with newer pages: every message once, in order.
    bob.emulate_media(color_scheme="light")
    bob.get_by_role("button", name="Load newer messages").click()
    expect(bob.locator(".history-hole")).to_have_count(0)  # not just relabelled "Loading…": gone
    seqs = bob.get_by_test_id("message").evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == sorted(set(seqs)) and seqs[-1] - seqs[0] + 1 == len(seqs)

    # Many hits come a page (20) at a time, newest first, more on request.
    bob.goto("/search?q=filler")
    expect(bob.get_by_test_id("search-hit")).to_have_count(20)
    expect(bob.get_by_test_id("search-hit").first).to_contain_text(f"bob filler number {FILLERS - 1}")
    bob.get_by_role("button", name="Load more").click()
    expect(bob.get_by_test_id("search-hit")).to_have_count(40)

    # At 375 px, light and dark: the results page has its own box, the hit still opens the message.
    bob.set_viewport_size({"width": 375, "height": 740})
    bob.goto("/search?q=lighthouse")
    expect(bob.get_by_test_id("search-hit")).to_have_count(1)
    assert bob.evaluate("document.documentElement.scrollWidth") <= 375
    bob.screenshot(path=screenshots / "search-results-mobile.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "search-results-mobile-dark.png")
    bob.get_by_test_id("search-hit").first.get_by_role("link").click()
    expect(bob.locator("[data-jump-target]")).to_be_in_viewport()
    bob.screenshot(path=screenshots / "search-jump-mobile-dark.png")
    bob.emulate_media(color_scheme="light")
    bob.screenshot(path=screenshots / "search-jump-mobile.png")


def test_search_in_one_room_and_nothing_found(new_page: NewPage, screenshots: Path) -> None:
    """The room filter narrows the hits; a query with no hits says so; operators alone get the server's reason."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "orchard")
    send(alice, "apples are ripe")
    expect(bob.get_by_test_id("message").filter(has_text="apples are ripe")).to_be_visible()
    bob.goto("/search?q=apples")
    expect(bob.get_by_test_id("search-hit")).to_have_count(1)
    bob.get_by_label("Where").select_option(label="#orchard")
    expect(bob).to_have_url(re.compile(r"room=\d+"))
    expect(bob.get_by_test_id("search-hit")).to_have_count(1)
    bob.get_by_label("Words to find").fill("pears")
    bob.get_by_role("button", name="Search", exact=True).click()
    expect(bob.get_by_role("status").filter(has_text="No messages")).to_be_visible()
    bob.get_by_label("Words to find").fill("+-*")
    bob.get_by_role("button", name="Search", exact=True).click()
    expect(bob.get_by_role("alert").filter(has_text="no words")).to_be_visible()
