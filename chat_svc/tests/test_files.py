"""Files end to end on a real chat_svc server: upload, attach, read back, download, delete, sweep.

Every test runs against the folder store and against a real S3-compatible server (moto's, as a
process), on SQLite and, where the MySQL test server is up, on MySQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from PIL import Image

from chat_svc.server import migrate
from chat_svc.settings import ChatSettings
from chat_svc.tests.conftest import TEST_SETTINGS
from chat_svc.tests.files_support import CHUNK, FileChat, copy_sqlite, png, reason, start, stop
from chat_svc.tests.helpers import ALICE, BOB, CAROL, TokenMint
from parley.chat.v1 import chat_pb2 as pb
from tests.support import mysql
from tests.support.s3 import S3Server

MIB = 1024 * 1024
_buckets = iter(range(1, 10**6))


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """Moto's S3 server as a process, for the module."""
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> str:
    """A migrated chat_db for the module: a SQLite copy, or a fresh MySQL database."""
    if request.param == "sqlite":
        return copy_sqlite(migrated_sqlite, tmp_path_factory.mktemp("files-db") / "chat.db")
    url = mysql.fresh_database("parley_test_chat_files")
    migrate(ChatSettings(database_url=url))
    return url


@pytest.fixture(params=["folder", "s3"])
async def files(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, s3_server: S3Server
) -> AsyncIterator[FileChat]:
    """A chat_svc server over the folder store or the S3 server (a fresh bucket each test)."""
    overrides: dict[str, Any] = {"file_folder": str(tmp_path / "files")}
    client = None
    if request.param == "s3":
        bucket = f"files-{next(_buckets)}"
        s3_server.create_bucket(bucket)
        overrides |= s3_server.settings(bucket)
        client = s3_server.client()
    settings = ChatSettings(**{**TEST_SETTINGS, "database_url": database_url, **overrides})
    started = await start(settings, TokenMint(tmp_path / "keys"), client)
    yield started
    await stop(started)


def _rows(files: FileChat, room_id: int) -> int:
    from sqlalchemy import func, select

    from chat_svc import models

    with files.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(models.File).where(models.File.room_id == room_id)) or 0)


# -- uploads ---------------------------------------------------------------------------------------


async def test_upload_stores_an_image_with_its_size_and_thumbnail(files: FileChat) -> None:
    """An image is stored with its sha256, size, pixel size and a WebP thumbnail of at most 400 px."""
    room = await files.room(ALICE, BOB)
    data = png(1200, 600)
    stored = await files.upload(ALICE, room, data, "photo.png", "image/png")
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert stored.content_type == "image/png"
    assert (stored.width, stored.height, stored.has_thumbnail) == (1200, 600, True)
    assert len(stored.id) == 22 and stored.uploader_id == ALICE and stored.room_id == room
    thumb_info, thumb = await files.download(ALICE, stored.id, thumbnail=True)
    with Image.open(io.BytesIO(thumb)) as image:
        assert (image.format, image.size) == ("WEBP", (400, 200))
    assert thumb_info.content_type == "image/webp" and thumb_info.size == len(thumb)


async def test_download_streams_the_bytes_back(files: FileChat) -> None:
    """A member downloads exactly the bytes uploaded (a file of several chunks)."""
    room = await files.room(ALICE, BOB)
    data = b"line of text\n" * 40_000  # 520 kB: nine chunks
    stored = await files.upload(ALICE, room, data, "notes.txt", "text/plain")
    sent = await files.send(ALICE, room, [stored.id])
    info, got = await files.download(BOB, stored.id)
    assert got == data and info.content_type == "text/plain" and sent.files[0].id == stored.id


async def test_a_file_over_the_limit_is_refused_at_once_and_nothing_is_stored(files: FileChat) -> None:
    """A declared 30 MB is refused before any byte with RESOURCE_EXHAUSTED, a clear message, reason file_too_large."""
    room = await files.room(ALICE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.upload(ALICE, room, os.urandom(30 * 1000 * 1000), "big.bin", "application/zip")
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "at most 25.0 MiB" in (refused.value.details() or "") and reason(refused.value) == "file_too_large"
    assert (_rows(files, room), files.blobs(), files.spooled()) == (0, [], [])


async def test_bytes_past_the_limit_are_refused_when_no_size_was_declared(files: FileChat) -> None:
    """Undeclared, a 30 MB stream is cut off once the bytes pass 25 MiB; nothing stored, no temp file left."""
    room = await files.room(ALICE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.upload(ALICE, room, b"a" * (30 * 1000 * 1000), "big.txt", "text/plain", size=0)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (_rows(files, room), files.blobs(), files.spooled()) == (0, [], [])


async def test_an_image_turned_by_exif_reports_its_upright_size(files: FileChat) -> None:
    """A 640x480 JPEG whose EXIF says "rotate 90" is 480x640, and so is its thumbnail's shape."""
    room = await files.room(ALICE)
    stored = await files.upload(ALICE, room, png(640, 480, exif_orientation=6), "turned.jpg", "image/jpeg")
    assert (stored.content_type, stored.width, stored.height) == ("image/jpeg", 480, 640)
    _, thumb = await files.download(ALICE, stored.id, thumbnail=True)
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.size == (300, 400)


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(files: FileChat) -> None:
    """A small PNG of 60 million pixels is refused with INVALID_ARGUMENT; nothing is stored."""
    room = await files.room(ALICE)
    out = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(out, "PNG")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.upload(ALICE, room, out.getvalue(), "bomb.png", "image/png")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "pixels" in (refused.value.details() or "")
    assert (_rows(files, room), files.blobs(), files.spooled()) == (0, [], [])


async def test_a_claimed_type_the_bytes_deny_gives_way_to_the_sniffed_one(files: FileChat) -> None:
    """PNG bytes claimed as a PDF are stored as image/png."""
    room = await files.room(ALICE)
    stored = await files.upload(ALICE, room, png(20, 20), "report.pdf", "application/pdf")
    assert stored.content_type == "image/png"


async def test_markup_claimed_as_svg_is_stored_as_plain_text(files: FileChat) -> None:
    """An SVG (never allowed: scripts) whose bytes are text is stored as text/plain, not as an image."""
    room = await files.room(ALICE)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    stored = await files.upload(ALICE, room, svg, "x.svg", "image/svg+xml")
    assert (stored.content_type, stored.has_thumbnail) == ("text/plain", False)


async def test_a_claimed_csv_whose_bytes_are_text_keeps_its_type(files: FileChat) -> None:
    """text/csv is kept for bytes that are UTF-8 text."""
    room = await files.room(ALICE)
    assert (await files.upload(ALICE, room, b"a,b\n1,2\n", "t.csv", "text/csv")).content_type == "text/csv"


async def test_a_disallowed_type_is_refused_and_nothing_is_stored(files: FileChat) -> None:
    """A Windows executable is refused with INVALID_ARGUMENT, reason file_type_not_allowed; no row, no blob."""
    room = await files.room(ALICE)
    exe = b"MZ" + b"\x90\x00" * 40 + b"PE\x00\x00" + bytes(range(256)) * 4
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.upload(ALICE, room, exe, "setup.exe", "application/pdf")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(refused.value) == "file_type_not_allowed" and "cannot be shared" in (refused.value.details() or "")
    assert (_rows(files, room), files.blobs(), files.spooled()) == (0, [], [])


async def test_the_name_keeps_only_its_last_path_part_without_control_characters(files: FileChat) -> None:
    """A name with folders and control characters is cut to its last part, controls removed."""
    room = await files.room(ALICE)
    stored = await files.upload(ALICE, room, b"hi", "..\\../etc/pass\x00wd\u202e.txt", "text/plain")
    assert stored.name == "passwd.txt"


async def test_a_name_with_nothing_left_is_called_file(files: FileChat) -> None:
    """A name that is only folders and control characters is stored as "file"."""
    room = await files.room(ALICE)
    assert (await files.upload(ALICE, room, b"hi", "photos/\x07\u200b", "text/plain")).name == "file"


async def test_a_non_member_cannot_upload(files: FileChat) -> None:
    """Uploading into someone else's private room is refused before any byte (PERMISSION_DENIED)."""
    room = await files.room(ALICE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.upload(BOB, room, b"hi", "a.txt")
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_interrupted_upload_leaves_nothing(files: FileChat) -> None:
    """A client that cancels mid-stream leaves no row, no blob and no temp file."""
    room = await files.room(ALICE)
    sent_some = asyncio.Event()

    async def parts() -> AsyncIterator[pb.UploadFileRequest]:
        yield pb.UploadFileRequest(start=pb.UploadStart(room_id=room, name="half.txt", size=10 * CHUNK))
        for _ in range(5):
            yield pb.UploadFileRequest(chunk=b"x" * CHUNK)
        sent_some.set()
        await asyncio.sleep(30)  # the client goes away before the end

    call = files.stub.UploadFile(parts(), metadata=files.md(ALICE))
    await sent_some.wait()
    for _ in range(50):  # until the server has spooled what was sent
        if files.spooled():
            break
        await asyncio.sleep(0.02)
    call.cancel()
    for _ in range(750):  # up to 15 s: the cancellation reaches the handler late on a loaded machine
        if not files.spooled():
            break
        await asyncio.sleep(0.02)
    assert (_rows(files, room), files.blobs(), files.spooled()) == (0, [], [])


async def test_a_non_member_gets_not_found_for_a_download(files: FileChat) -> None:
    """Someone outside the room gets NOT_FOUND, as for an id that does not exist."""
    room = await files.room(ALICE, BOB)
    stored = await files.upload(ALICE, room, b"secret", "s.txt")
    await files.send(ALICE, room, [stored.id])
    for file_id in (stored.id, "A" * 22):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await files.download(CAROL, file_id)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_unattached_upload_is_only_the_uploaders(files: FileChat) -> None:
    """Before it is sent, only its uploader may download a file."""
    room = await files.room(ALICE, BOB)
    stored = await files.upload(ALICE, room, b"draft", "d.txt")
    assert (await files.download(ALICE, stored.id))[1] == b"draft"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.download(BOB, stored.id)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


# -- sending with files ----------------------------------------------------------------------------


async def test_files_sent_come_back_in_history_and_the_stream_in_order(files: FileChat) -> None:
    """A message with two files and no body shows them, in order, in history and in the stream's replay."""
    room = await files.room(ALICE, BOB)
    first = await files.upload(ALICE, room, png(10, 10), "a.png")
    second = await files.upload(ALICE, room, b"text", "b.txt")
    await files.send(ALICE, room, [], body="before")
    sent = await files.send(ALICE, room, [second.id, first.id])
    assert sent.body == "" and [f.id for f in sent.files] == [second.id, first.id]
    page = await files.stub.ListMessages(pb.ListMessagesRequest(room_id=room), metadata=files.md(BOB))
    assert [[f.name for f in m.files] for m in page.messages] == [[], ["b.txt", "a.png"]]
    stream = files.stub.StreamEvents(
        pb.StreamEventsRequest(cursors=[pb.RoomCursor(room_id=room)]), metadata=files.md(BOB)
    )
    replayed = []
    async for reply in stream:
        replayed += [e.message_created for e in reply.events if e.HasField("message_created")]
        if reply.caught_up:
            break
    stream.cancel()
    assert [[f.id for f in m.files] for m in replayed] == [[], [second.id, first.id]]


async def test_a_retried_send_returns_the_original_with_its_files(files: FileChat) -> None:
    """The same client_msg_id again answers the original message, files included."""
    room = await files.room(ALICE)
    stored = await files.upload(ALICE, room, b"x", "x.txt")
    await files.send(ALICE, room, [stored.id], key="retry-1")
    reply = await files.stub.SendMessage(
        pb.SendMessageRequest(room_id=room, client_msg_id="retry-1", file_ids=[stored.id]), metadata=files.md(ALICE)
    )
    assert reply.duplicate and [f.id for f in reply.message.files] == [stored.id]


async def test_a_search_hit_carries_the_message_files(files: FileChat) -> None:
    """SearchMessages answers a message with its files, as ListMessages does."""
    room = await files.room(ALICE)
    stored = await files.upload(ALICE, room, b"x", "x.txt")
    await files.send(ALICE, room, [stored.id], body="the quarterly report")
    found = await files.stub.SearchMessages(
        pb.SearchMessagesRequest(query="quarterly", room_id=room), metadata=files.md(ALICE)
    )
    assert [[f.id for f in hit.message.files] for hit in found.hits] == [[stored.id]]


async def test_an_edit_keeps_the_files(files: FileChat) -> None:
    """Editing the caption keeps the message's files."""
    room = await files.room(ALICE)
    stored = await files.upload(ALICE, room, b"x", "x.txt")
    sent = await files.send(ALICE, room, [stored.id], body="v1")
    edited = await files.stub.EditMessage(
        pb.EditMessageRequest(room_id=room, seq=sent.seq, body="v2"), metadata=files.md(ALICE)
    )
    assert [f.id for f in edited.message.files] == [stored.id]


@pytest.mark.parametrize(
    ("whose", "code"),
    [("someone else's", grpc.StatusCode.INVALID_ARGUMENT), ("unknown", grpc.StatusCode.NOT_FOUND),
     ("another room's", grpc.StatusCode.NOT_FOUND), ("attached", grpc.StatusCode.INVALID_ARGUMENT)],
)  # fmt: skip
async def test_a_send_may_attach_only_the_senders_unattached_uploads_into_the_room(
    files: FileChat, whose: str, code: grpc.StatusCode
) -> None:
    """Someone else's, an unknown, another room's or an attached file refuses the send; nothing is stored."""
    room, other_room = await files.room(ALICE, BOB), await files.room(ALICE, BOB)
    file_id = {
        "someone else's": (await files.upload(BOB, room, b"b", "b.txt")).id,
        "unknown": "Z" * 22,
        "another room's": (await files.upload(ALICE, other_room, b"o", "o.txt")).id,
        "attached": (await files.upload(ALICE, room, b"a", "a.txt")).id,
    }[whose]
    if whose == "attached":
        await files.send(ALICE, room, [file_id])
    before = (await files.stub.GetRoom(pb.GetRoomRequest(room_id=room), metadata=files.md(ALICE))).room.last_seq
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.send(ALICE, room, [file_id], body="with a file")
    assert refused.value.code() == code and file_id in (refused.value.details() or "")
    after = (await files.stub.GetRoom(pb.GetRoomRequest(room_id=room), metadata=files.md(ALICE))).room.last_seq
    assert after == before


async def test_more_than_ten_files_are_refused(files: FileChat) -> None:
    """Eleven file ids: INVALID_ARGUMENT."""
    room = await files.room(ALICE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.send(ALICE, room, [f"{n:022d}" for n in range(11)])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- deleting and sweeping -------------------------------------------------------------------------


async def test_deleting_a_message_hides_its_files_and_the_sweeper_removes_them_later(files: FileChat) -> None:
    """After a delete the file 404s at once; the bytes stay until the grace period, then bytes and row go."""
    room = await files.room(ALICE, BOB)
    stored = await files.upload(ALICE, room, png(50, 50), "p.png")
    sent = await files.send(ALICE, room, [stored.id])
    await files.stub.DeleteMessage(pb.DeleteMessageRequest(room_id=room, seq=sent.seq), metadata=files.md(ALICE))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await files.download(BOB, stored.id)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    page = await files.stub.ListMessages(pb.ListMessagesRequest(room_id=room), metadata=files.md(BOB))
    assert [list(m.files) for m in page.messages] == [[]]
    await files.chat.sweeper.sweep()  # within the grace period: kept
    assert files.blobs() == sorted([stored.id, f"{stored.id}.thumb"])
    files.chat.sweeper._grace_s = 0  # the grace period is over
    assert await files.chat.sweeper.sweep() >= 1  # the module's other tests' uploads go too
    assert (_rows(files, room), files.blobs()) == (0, [])


async def test_uploads_never_attached_are_swept_after_the_grace_period(files: FileChat) -> None:
    """An unattached upload is removed (row and bytes) once the grace period is over; an attached one stays."""
    room = await files.room(ALICE)
    kept = await files.upload(ALICE, room, b"kept", "k.txt")
    await files.send(ALICE, room, [kept.id])
    await files.upload(ALICE, room, b"forgotten", "f.txt")
    files.chat.sweeper._grace_s = 0
    assert await files.chat.sweeper.sweep() >= 1
    assert (_rows(files, room), files.blobs()) == (1, [kept.id])
    assert (await files.download(ALICE, kept.id))[1] == b"kept"


# -- reads stay cheap ------------------------------------------------------------------------------


async def test_history_asks_the_files_table_only_for_pages_with_files_and_once_per_page(files: FileChat) -> None:
    """A page of messages without files runs no files query; a page with several files runs one."""
    from sqlalchemy import event

    room = await files.room(ALICE)
    for n in range(3):
        await files.send(ALICE, room, [], body=f"plain {n}")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(files.db.engine, "before_cursor_execute", seen)
    try:
        await files.stub.ListMessages(pb.ListMessagesRequest(room_id=room), metadata=files.md(ALICE))
        assert statements and not [s for s in statements if "files" in s]
        for name in ("a.txt", "b.txt"):
            await files.send(ALICE, room, [(await files.upload(ALICE, room, b"x", name)).id])
        statements.clear()
        page = await files.stub.ListMessages(pb.ListMessagesRequest(room_id=room), metadata=files.md(ALICE))
        assert [len(m.files) for m in page.messages] == [0, 0, 0, 1, 1]
        assert len([s for s in statements if "FROM files" in s]) == 1
    finally:
        event.remove(files.db.engine, "before_cursor_execute", seen)
