"""Reactions in the web app: chips under a message, a picker to add one, live for the other member, kept on reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import NewPage
from tests.browser.playwright_api import Locator, Page, expect
from tests.browser.test_chat_ui import send, two_people_in_a_room

pytestmark = [pytest.mark.browser, pytest.mark.mysql]


def message(page: Page, text: str) -> Locator:
    """The stored message with this text."""
    return page.get_by_test_id("message").filter(has_text=text)


def chip(page: Page, text: str, emoji: str) -> Locator:
    """The reaction chip of one emoji under a message."""
    return message(page, text).get_by_role("button", name=re.compile(f"^{emoji} \\d+ reactions?"))


def test_reactions_reach_the_other_member_live_and_survive_a_reload(new_page: NewPage, screenshots: Path) -> None:
    """Bob reacts through the picker, Alice joins in with the chip, Bob takes his back; a reload keeps it all."""
    alice, bob = new_page(), new_page()
    alice_name, bob_name = two_people_in_a_room(alice, bob, "lunch")
    send(alice, "pizza on friday?")
    expect(message(bob, "pizza on friday?")).to_be_visible()

    # Bob picks 🎉 from the menu: it closes, and Alice sees the chip live.
    message(bob, "pizza on friday?").hover()
    message(bob, "pizza on friday?").get_by_role("button", name="Add reaction").click()
    menu = bob.get_by_role("menu", name="Reactions")
    expect(menu.get_by_role("menuitem")).to_have_count(12)
    menu.get_by_role("menuitem", name="party popper").click()
    expect(menu).to_have_count(0)
    expect(chip(bob, "pizza on friday?", "🎉")).to_have_attribute("aria-pressed", "true")
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_text("🎉 1")
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_attribute("aria-pressed", "false")

    # Alice adds hers with the chip: both see 2, only hers is pressed on her screen.
    chip(alice, "pizza on friday?", "🎉").click()
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_text("🎉 2")
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_attribute("aria-pressed", "true")
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_accessible_name(
        "🎉 2 reactions, including you; react with 🎉"
    )
    expect(chip(bob, "pizza on friday?", "🎉")).to_have_text("🎉 2")
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_attribute(
        "title", f"{bob_name}, {alice_name} reacted with 🎉"
    )

    # Bob adds 👍 by keyboard (arrows move, Escape closes and gives focus back), then takes his 🎉 back.
    add = message(bob, "pizza on friday?").get_by_role("button", name="Add reaction")
    add.focus()
    add.press("Enter")
    expect(bob.get_by_role("menuitem", name="thumbs up")).to_be_focused()
    bob.keyboard.press("ArrowRight")
    expect(bob.get_by_role("menuitem", name="red heart")).to_be_focused()
    bob.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(add).to_be_focused()
    add.press("Enter")
    bob.keyboard.press("Enter")
    expect(chip(alice, "pizza on friday?", "👍")).to_have_text("👍 1")
    chip(bob, "pizza on friday?", "🎉").click()
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_text("🎉 1")
    expect(chip(bob, "pizza on friday?", "🎉")).to_have_attribute("aria-pressed", "false")

    # History after a reload has the same aggregate, with Alice's own reaction pressed.
    alice.reload()
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_text("🎉 1")
    expect(chip(alice, "pizza on friday?", "🎉")).to_have_attribute("aria-pressed", "true")
    expect(chip(alice, "pizza on friday?", "👍")).to_have_attribute("aria-pressed", "false")

    # Screenshots with the picker open: wide and 375 px, light and dark.
    send(alice, "and salad")
    expect(message(alice, "and salad")).to_be_visible()
    for page, name in ((alice, "reactions"), (bob, "reactions-mobile")):
        if page is bob:
            page.set_viewport_size({"width": 375, "height": 740})
        target = message(page, "pizza on friday?")
        target.hover()
        target.get_by_role("button", name="Add reaction").click()
        expect(page.get_by_role("menu", name="Reactions")).to_be_visible()
        page.screenshot(path=screenshots / f"{name}.png")
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=screenshots / f"{name}-dark.png")
        page.keyboard.press("Escape")
