"""Files in the web app: one person attaches an image and a PDF, the other sees both, opens and downloads them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import NewPage
from tests.browser.playwright_api import FilePayload, Locator, Page, WebSocketRoute, expect
from tests.browser.test_chat_ui import two_people_in_a_room
from tests.browser.test_threads_ui import thread_panel

pytestmark = [pytest.mark.browser, pytest.mark.mysql]

# The smallest well-formed PDF: one empty page, its cross-reference table and trailer.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n166\n%%EOF\n"
)
IMAGE_SIZE = (900, 600)


def png() -> bytes:
    """A 900 x 600 PNG (bigger than a thumbnail): a blue-to-orange gradient with a white bar."""
    width, height = IMAGE_SIZE
    image = Image.new("RGB", IMAGE_SIZE)
    bar = range(height // 2 - 20, height // 2 + 20)
    image.putdata(
        [
            (255, 255, 255) if y in bar else (40 + 200 * x // width, 90, 220 - 180 * x // width)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def composer(page: Page) -> Locator:
    """The main conversation's composer."""
    return page.get_by_role("main").locator("form.composer")


def attach(page: Page, *files: tuple[str, str, bytes]) -> None:
    """Pick files with the composer's file input, as the paperclip does."""
    payloads = [FilePayload(name=name, mimeType=mime, buffer=data) for name, mime, data in files]
    composer(page).get_by_test_id("file-input").set_input_files(payloads)


def chip(page: Page, name: str) -> Locator:
    """The upload chip of one file."""
    return composer(page).get_by_test_id("upload-chip").filter(has_text=name)


def message_with(page: Page, text: str) -> Locator:
    """The stored message saying text."""
    return page.get_by_role("main").get_by_test_id("message").filter(has_text=text)


def natural_width(image: Locator) -> int:
    """How many pixels wide the loaded image is (0 until it has loaded)."""
    return int(image.evaluate("img => img.naturalWidth"))


def test_an_image_and_a_pdf_are_seen_opened_and_downloaded_by_the_other_person(
    new_page: NewPage, screenshots: Path
) -> None:
    """Alice sends an image and a PDF; Bob sees the image inline and the PDF's card, opens one, downloads the other."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "holiday")

    attach(alice, ("sunset.png", "image/png", png()), ("notes.pdf", "application/pdf", PDF))
    expect(composer(alice).get_by_test_id("upload-chip")).to_have_count(2)
    for name in ("sunset.png", "notes.pdf"):
        expect(chip(alice, name)).to_have_attribute("data-status", "done")
    expect(chip(alice, "notes.pdf")).to_contain_text(f"{len(PDF)} B")
    alice.screenshot(path=screenshots / "files-composer.png")
    box = alice.get_by_role("textbox", name=re.compile("^Message "))
    box.fill("the view from the hill")
    box.press("Enter")
    expect(composer(alice).get_by_test_id("upload-chip")).to_have_count(0)

    # Bob sees the image (its thumbnail) in a box of its proportions, and a card for the PDF.
    message = message_with(bob, "the view from the hill")
    preview = message.get_by_test_id("image-preview")
    thumbnail = preview.locator("img[alt='sunset.png']")
    expect(thumbnail).to_have_js_property("complete", True)
    assert 0 < natural_width(thumbnail) < IMAGE_SIZE[0]  # the thumbnail, not the whole image
    shown = preview.bounding_box()
    assert shown is not None and abs(shown["width"] / shown["height"] - 1.5) < 0.05
    card = message.get_by_test_id("file-card")
    expect(card).to_contain_text("notes.pdf")
    expect(card).to_contain_text(f"{len(PDF)} B")
    expect(card.get_by_role("img", name="PDF document")).to_be_visible()
    bob.screenshot(path=screenshots / "files-timeline.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "files-timeline-dark.png")
    bob.emulate_media(color_scheme="light")

    # The image opens full size in a dialog; Esc closes it and gives focus back to the preview.
    preview.click()
    dialog = bob.get_by_role("dialog", name="sunset.png")
    full = dialog.locator("img[alt='sunset.png']")
    expect(full).to_have_js_property("naturalWidth", IMAGE_SIZE[0])
    expect(dialog.get_by_role("button", name="Download sunset.png")).to_be_visible()
    bob.screenshot(path=screenshots / "files-lightbox.png")
    bob.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(preview).to_be_focused()

    # The PDF downloads under its name, byte for byte.
    with bob.expect_download() as info:
        card.get_by_role("button", name="Download notes.pdf").click()
    download = info.value
    assert download.suggested_filename == "notes.pdf"
    assert Path(download.path()).read_bytes() == PDF

    # At 375 px, light and dark: the preview shrinks to the bubble, the card wraps.
    bob.set_viewport_size({"width": 375, "height": 740})
    expect(thumbnail).to_be_visible()
    shown = preview.bounding_box()
    assert shown is not None and shown["x"] + shown["width"] <= 375
    bob.screenshot(path=screenshots / "files-timeline-mobile.png")
    bob.emulate_media(color_scheme="dark")
    bob.screenshot(path=screenshots / "files-timeline-mobile-dark.png")
    preview.click()
    expect(bob.get_by_role("dialog", name="sunset.png").locator("img")).to_be_visible()
    bob.screenshot(path=screenshots / "files-lightbox-mobile-dark.png")
    bob.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(bob.get_by_role("dialog")).to_have_count(0)


def test_a_refused_file_says_why_and_a_failed_upload_can_be_retried(new_page: NewPage, screenshots: Path) -> None:
    """A disallowed type and a too-large file show why and block Send; a dropped upload comes back with Retry."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "refusals")
    send = composer(alice).get_by_role("button", name="Send")

    # The server sniffs a Windows program (not on the allow-list): its reason shows, with no Retry, and Send waits.
    attach(alice, ("tool.exe", "application/octet-stream", b"MZ" + bytes(510)))
    refused = chip(alice, "tool.exe")
    expect(refused).to_have_attribute("data-status", "failed")
    expect(refused.get_by_test_id("upload-error")).to_contain_text("cannot be shared here")
    expect(refused.get_by_role("button", name="Retry tool.exe")).to_have_count(0)
    expect(alice.get_by_test_id("upload-notice")).to_contain_text("tool.exe did not upload.")
    alice.get_by_role("textbox", name=re.compile("^Message ")).fill("with a file")
    expect(send).to_be_disabled()
    expect(composer(alice)).to_contain_text("Retry or remove the files that did not upload.")

    # Over the limit: said at once, before any byte goes up.
    attach(alice, ("huge.bin", "application/octet-stream", bytes(26 * 1024 * 1024)))
    expect(chip(alice, "huge.bin").get_by_test_id("upload-error")).to_have_text(
        "Too large: files can be at most 25 MB."
    )
    alice.screenshot(path=screenshots / "files-refused.png")
    alice.set_viewport_size({"width": 375, "height": 740})
    alice.emulate_media(color_scheme="dark")
    alice.screenshot(path=screenshots / "files-refused-mobile-dark.png")
    alice.emulate_media(color_scheme="light")
    alice.set_viewport_size({"width": 1200, "height": 800})
    chip(alice, "tool.exe").get_by_role("button", name="Remove tool.exe").click()
    chip(alice, "huge.bin").get_by_role("button", name="Remove huge.bin").click()
    expect(send).to_be_enabled()

    # A slow upload shows its progress, and Cancel stops it.
    cdp = alice.context.new_cdp_session(alice)
    cdp.send("Network.enable")
    throttle = {"offline": False, "latency": 0, "downloadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": 64 * 1024})
    attach(alice, ("slow.pdf", "application/pdf", PDF + bytes(4 * 1024 * 1024)))
    expect(chip(alice, "slow.pdf")).to_have_attribute("data-status", "uploading")
    alice.wait_for_function("() => document.querySelector('.upload-progress')?.value > 4")
    alice.screenshot(path=screenshots / "files-uploading.png")
    chip(alice, "slow.pdf").get_by_role("button", name="Cancel upload of slow.pdf").click()
    expect(chip(alice, "slow.pdf")).to_have_count(0)
    cdp.send("Network.emulateNetworkConditions", {**throttle, "uploadThroughput": -1})

    # The connection drops during an upload: it fails as a network error; Retry sends it again.
    alice.route(re.compile(r"/api/v1/rooms/\d+/files"), lambda route: route.abort("connectionreset"))
    attach(alice, ("notes.pdf", "application/pdf", PDF))
    dropped = chip(alice, "notes.pdf")
    expect(dropped).to_have_attribute("data-status", "failed")
    expect(dropped.get_by_test_id("upload-error")).to_contain_text("Cannot reach the server")
    alice.unroute(re.compile(r"/api/v1/rooms/\d+/files"))
    dropped.get_by_role("button", name="Retry notes.pdf").click()
    expect(dropped).to_have_attribute("data-status", "done")
    send.click()
    expect(message_with(bob, "with a file").get_by_test_id("file-card")).to_contain_text("notes.pdf")


# A DataTransfer holding one file, made in the page (a test cannot drag from the desktop).
DATA_TRANSFER = """([name, type, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type }));
  return data;
}"""


def test_files_dropped_on_the_conversation_or_pasted_are_attached(new_page: NewPage, screenshots: Path) -> None:
    """Files dragged over the conversation show the drop zone; dropping or pasting one adds its chip and uploads it."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "drops")
    conversation = alice.get_by_role("main")

    dragged = alice.evaluate_handle(DATA_TRANSFER, ["dropped.txt", "text/plain", "dropped here"])
    conversation.dispatch_event("dragenter", {"dataTransfer": dragged})
    zone = alice.get_by_test_id("drop-zone")
    expect(zone).to_be_visible()
    expect(zone).to_contain_text("Drop files to attach them")
    alice.screenshot(path=screenshots / "files-drop-zone.png")
    conversation.locator(".messages").dispatch_event("drop", {"dataTransfer": dragged})
    expect(zone).to_have_count(0)
    expect(chip(alice, "dropped.txt")).to_have_attribute("data-status", "done")

    pasted = alice.evaluate_handle(DATA_TRANSFER, ["pasted.txt", "text/plain", "pasted here"])
    box = alice.get_by_role("textbox", name=re.compile("^Message "))
    paste = "(box, data) => box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}))"
    box.evaluate(paste, pasted)
    expect(chip(alice, "pasted.txt")).to_have_attribute("data-status", "done")
    expect(box).to_have_value("")  # the file, not its name, was pasted

    box.press("Enter")  # files alone, no text
    cards = message_with(bob, "dropped.txt").get_by_test_id("file-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(1)).to_contain_text("pasted.txt")

    # In a thread: the panel's own composer takes files, and the reply shows them there.
    message_with(alice, "dropped.txt").get_by_role("link", name="Reply in thread").click()
    panel = thread_panel(alice)
    panel.locator("form.composer").get_by_test_id("file-input").set_input_files(
        [FilePayload(name="reply.png", mimeType="image/png", buffer=png())]
    )
    expect(panel.get_by_test_id("upload-chip")).to_have_attribute("data-status", "done")
    panel.get_by_role("textbox", name="Reply in thread").fill("a picture for the thread")
    panel.get_by_role("textbox", name="Reply in thread").press("Enter")
    preview = (
        panel.get_by_test_id("message").filter(has_text="a picture for the thread").locator("img[alt='reply.png']")
    )
    expect(preview).to_be_visible()
    alice.screenshot(path=screenshots / "files-thread.png")
    message_with(bob, "dropped.txt").get_by_role("link", name=re.compile("1 reply")).click()
    expect(thread_panel(bob).locator("img[alt='reply.png']")).to_be_visible()


def test_a_message_with_a_file_written_offline_keeps_it_through_a_reload(new_page: NewPage) -> None:
    """With the socket down, a message shows its file while pending, keeps it through a reload, then delivers it."""
    alice, bob = new_page(), new_page()
    two_people_in_a_room(alice, bob, "offline")
    socket_down = False

    def socket_route(ws: WebSocketRoute) -> None:
        # While down, every socket the page opens is closed at once; REST (the upload) keeps working.
        if socket_down:
            ws.close()
        else:
            ws.connect_to_server()

    alice.context.route_web_socket(re.compile(r"/api/v1/ws$"), socket_route)
    alice.reload()
    expect(alice.get_by_role("main").get_by_role("heading", name=re.compile("offline"))).to_be_visible()
    socket_down = True
    alice.context.set_offline(True)
    expect(alice.get_by_test_id("connection-banner")).to_be_visible()
    alice.context.set_offline(False)  # the network is back, the socket still cannot connect
    attach(alice, ("notes.pdf", "application/pdf", PDF))
    expect(chip(alice, "notes.pdf")).to_have_attribute("data-status", "done")
    alice.get_by_role("textbox", name=re.compile("^Message ")).press("Enter")
    waiting = alice.get_by_test_id("pending-message")
    expect(waiting.get_by_test_id("file-card")).to_contain_text("notes.pdf")

    alice.reload()
    expect(waiting.get_by_test_id("file-card")).to_contain_text("notes.pdf")
    socket_down = False
    alice.context.set_offline(True)  # a blip: reconnect now rather than after the backoff
    alice.context.set_offline(False)
    expect(waiting).to_have_count(0, timeout=20_000)
    expect(bob.get_by_role("main").get_by_test_id("message").get_by_test_id("file-card")).to_contain_text("notes.pdf")
