"""Message formatting in the web app: the Markdown subset renders, mentions of me stand out, HTML never runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import NewPage
from tests.browser.playwright_api import Dialog, Page, expect
from tests.browser.test_chat_ui import send, two_people_in_a_room

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

MENTIONS_ME = re.compile(r"\bmentions-me\b")
HOSTILE = '<img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(3)) "><svg onload=alert(4)>'


def formatted(mention: str) -> str:
    """A body with every formatting feature, and a mention."""
    return "\n".join(
        [
            f"**Standup** for @{mention}: ship `parley` today, ~~not~~ _maybe_ tomorrow",
            "",
            "> the build is green",
            "",
            "- review https://example.com",
            "- then the docs",
            "",
            "```",
            "def hello(name: str) -> str:",
            '    return f"hello {name}, this line is long enough to scroll on a phone screen"',
            "```",
        ]
    )


def record_dialogs(page: Page, seen: list[str]) -> None:
    """Note any alert/confirm/prompt: a body that could open one ran script."""

    def on_dialog(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


def test_formatted_message_renders_and_mentions_stand_out(new_page: NewPage, screenshots: Path) -> None:
    """The other person sees bold, code, a code block, a quote, a list, a safe link and the mention of them."""
    dialogs: list[str] = []
    alice, bob = new_page(), new_page()
    record_dialogs(alice, dialogs)
    record_dialogs(bob, dialogs)
    alice_name, bob_name = two_people_in_a_room(alice, bob, "formatting")

    send(alice, formatted(bob_name))
    message = bob.get_by_test_id("message").filter(has_text="Standup")
    body = message.locator(".message-body")
    expect(body.locator("strong")).to_have_text("Standup")
    expect(body.locator("p code")).to_have_text("parley")
    expect(body.locator("s")).to_have_text("not")
    expect(body.locator("em")).to_have_text("maybe")
    expect(body.locator("blockquote")).to_have_text("the build is green")
    expect(body.locator("ul > li")).to_have_count(2)
    expect(body.locator("pre > code")).to_contain_text("def hello(name: str) -> str:")
    link = body.get_by_role("link", name="https://example.com")
    expect(link).to_have_attribute("href", "https://example.com")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(body.locator(".mention.mention-me")).to_have_text(f"@{bob_name}")
    expect(message).to_have_class(MENTIONS_ME)
    # The sender sees the same formatting, with no highlight: the mention is not of her.
    mine = alice.get_by_test_id("message").filter(has_text="Standup")
    expect(mine.locator(".mention")).to_have_text(f"@{bob_name}")
    expect(mine.locator(".mention-me")).to_have_count(0)

    send(bob, f"thanks @{alice_name}, on it")
    expect(alice.get_by_test_id("message").filter(has_text="on it")).to_have_class(MENTIONS_ME)

    send(alice, HOSTILE)
    hostile = bob.get_by_test_id("message").filter(has_text="onerror")
    expect(hostile.locator(".message-body")).to_have_text(HOSTILE)
    expect(bob.locator(".messages img, .messages script, .messages svg")).to_have_count(0)
    expect(hostile.locator(".message-body a")).to_have_count(0)

    bob.screenshot(path=screenshots / "formatting.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "formatting-dark.png")
    bob.set_viewport_size({"width": 375, "height": 740})
    expect(message).to_be_visible()
    # The long code line scrolls inside its block; the page itself does not scroll sideways.
    assert bob.evaluate("document.documentElement.scrollWidth") <= 375
    box = message.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375
    assert body.locator("pre").evaluate("pre => pre.scrollWidth > pre.clientWidth")
    bob.screenshot(path=screenshots / "formatting-mobile-dark.png")
    bob.emulate_media(color_scheme="light")
    bob.screenshot(path=screenshots / "formatting-mobile.png")
    assert dialogs == []
