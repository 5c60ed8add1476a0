"""Files end to end through the gateway, over the folder store and a real S3-compatible server.

Real gateway, auth_svc and chat_svc processes on MySQL; moto's S3 server as a process; REST and WebSocket.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from PIL import Image
from sqlalchemy import create_engine, text

from edge_gateway.tests.test_ws_e2e import Client, User, bearer, private_room, register, signed_in
from tests.support import mysql
from tests.support.s3 import S3Server
from tests.support.stack import Stack

pytestmark = pytest.mark.mysql
MB = 1000 * 1000


@pytest.fixture(scope="module", params=["folder", "s3"])
def file_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """auth_svc, chat_svc and a gateway on fresh MySQL databases; chat_svc stores files in a folder or in S3."""
    if mysql.unavailable_reason():
        pytest.skip(mysql.unavailable_reason() or "")
    s3 = None
    env: dict[str, str] = {}
    if request.param == "s3":
        s3 = S3Server().start()
        s3.create_bucket("parley-files")
        env = {f"CHAT_{key.upper()}": value for key, value in s3.settings("parley-files").items()}
    started = Stack(tmp_path_factory.mktemp("files-stack"), env=env)
    started.s3 = s3  # type: ignore[attr-defined]  # what stored_blobs lists
    try:
        yield started.create_databases(f"parley_test_files_{request.param}").up()
    finally:
        started.stop()
        if s3 is not None:
            s3.stop()


@pytest.fixture
async def api(file_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for /api/v1."""
    async with httpx.AsyncClient(base_url=file_stack.api_url, timeout=30) as client:
        yield client


@pytest.fixture
async def connect(file_stack: Stack) -> AsyncIterator[Any]:
    """Factory: a Client that has sent its auth frame, closed at the end."""
    opened: list[Any] = []

    async def open_client(user: User, **auth: Any) -> Client:
        ws = await websockets.connect(file_stack.ws_url)
        opened.append(ws)
        client = Client(ws)
        await client.send(type="auth", token=user.token, **auth)
        return client

    yield open_client
    for ws in opened:
        await ws.close()


def stored_blobs(stack: Stack) -> list[str]:
    """Keys in the stack's blob store."""
    s3: S3Server | None = getattr(stack, "s3", None)
    if s3 is not None:
        listed = s3.client().list_objects_v2(Bucket="parley-files")
        return sorted(item["Key"] for item in listed.get("Contents", []))
    folder = Path(stack.workdir) / "files"
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def file_rows(stack: Stack, room_id: int) -> int:
    """Rows of the files table for a room, straight from chat_db."""
    engine = create_engine(stack.chat_db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM files WHERE room_id = :r"), {"r": room_id}).scalar_one())
    finally:
        engine.dispose()


def png(width: int, height: int) -> bytes:
    """A PNG of this size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


async def upload(
    api: httpx.AsyncClient, user: User, room: int, data: bytes, name: str, content_type: str
) -> httpx.Response:
    """POST the raw bytes."""
    return await api.post(
        f"/rooms/{room}/files",
        params={"name": name},
        content=data,
        headers={**bearer(user), "Content-Type": content_type},
    )


async def test_an_image_is_uploaded_and_downloaded_with_safe_headers(api: httpx.AsyncClient) -> None:
    """201 with the file; the download has its bytes, type, length, inline disposition, nosniff, private cache."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    data = png(800, 400)
    created = await upload(api, alice, room, data, "Été 2026.png", "image/png")
    assert created.status_code == 201, created.text
    file = created.json()["file"]
    assert (file["size"], file["sha256"], file["width"], file["height"]) == (
        len(data), hashlib.sha256(data).hexdigest(), 800, 400
    )  # fmt: skip
    got = await api.get(f"/files/{file['id']}", headers=bearer(alice))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/png" and got.headers["content-length"] == str(len(data))
    assert (
        got.headers["content-disposition"]
        == "inline; filename=\"_t_ 2026.png\"; filename*=UTF-8''%C3%89t%C3%A9%202026.png"
    )
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "private, max-age=31536000, immutable"
    thumb = await api.get(f"/files/{file['id']}", params={"thumbnail": "true"}, headers=bearer(alice))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.size == (400, 200)


async def test_a_30_mb_file_gets_413_at_once_and_nothing_is_stored(api: httpx.AsyncClient, file_stack: Stack) -> None:
    """A 30 MB body is refused with 413 file_too_large and a clear message; no row, no blob."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    before = stored_blobs(file_stack)
    refused = await upload(api, alice, room, os.urandom(30 * MB), "big.zip", "application/zip")
    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["code"] == "file_too_large" and "at most 25.0 MiB" in error["message"]
    assert file_rows(file_stack, room) == 0 and stored_blobs(file_stack) == before


async def test_a_disallowed_type_gets_415_and_nothing_is_stored(api: httpx.AsyncClient, file_stack: Stack) -> None:
    """An executable claimed as a PDF: 415 file_type_not_allowed; no row, no blob."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    before = stored_blobs(file_stack)
    exe = b"MZ" + b"\x90\x00" * 40 + bytes(range(256)) * 8
    refused = await upload(api, alice, room, exe, "invoice.pdf", "application/pdf")
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "file_type_not_allowed"
    assert file_rows(file_stack, room) == 0 and stored_blobs(file_stack) == before


async def test_a_file_whose_bytes_deny_its_claim_is_stored_as_what_it_is(api: httpx.AsyncClient) -> None:
    """PNG bytes posted as text/html are stored and served as image/png."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    created = await upload(api, alice, room, png(8, 8), "page.html", "text/html")
    assert created.status_code == 201 and created.json()["file"]["content_type"] == "image/png"


async def test_a_non_member_gets_404_for_a_download(api: httpx.AsyncClient) -> None:
    """Someone outside the room gets 404, as for an unknown id."""
    alice, bob, mallory = await register(api, "alice"), await register(api, "bob"), await register(api, "mal")
    room = await private_room(api, alice, bob)
    file = (await upload(api, alice, room, b"%PDF-1.4\n%secret\n", "plan.pdf", "application/pdf")).json()["file"]
    sent = await api.post(
        f"/rooms/{room}/messages", json={"client_msg_id": "m1", "body": "", "file_ids": [file["id"]]},
        headers=bearer(alice),
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    for file_id in (file["id"], "A" * 22):
        assert (await api.get(f"/files/{file_id}", headers=bearer(mallory))).status_code == 404
    bobs = await api.get(f"/files/{file['id']}", headers=bearer(bob))
    assert bobs.status_code == 200 and bobs.headers["content-disposition"].startswith("attachment;")


async def test_a_message_with_files_reaches_history_and_the_other_socket(api: httpx.AsyncClient, connect: Any) -> None:
    """A WebSocket send with file_ids and no body: its ack, the other socket's frame and history carry the files."""
    alice, bob = await register(api, "alice"), await register(api, "bob")
    room = await private_room(api, alice, bob)
    first = (await upload(api, alice, room, png(30, 20), "a.png", "image/png")).json()["file"]
    second = (await upload(api, alice, room, b"a,b\n1,2\n", "t.csv", "text/csv")).json()["file"]
    a, b = await signed_in(connect, alice), await signed_in(connect, bob)
    key = uuid.uuid4().hex
    await a.send(type="send", ref="s", room_id=room, client_msg_id=key, body="", file_ids=[first["id"], second["id"]])
    ack = await a.expect("send_ack", ref="s")
    got = await b.expect("message", room_id=room)
    for message in (ack["message"], got["message"]):
        assert [f["id"] for f in message["files"]] == [first["id"], second["id"]] and message["body"] == ""
    assert got["message"]["files"][1]["content_type"] == "text/csv"
    page = (await api.get(f"/rooms/{room}/messages", headers=bearer(bob))).json()["messages"]
    assert [[f["name"] for f in m["files"]] for m in page] == [["a.png", "t.csv"]]


async def test_deleting_the_message_makes_its_files_404(api: httpx.AsyncClient) -> None:
    """After a delete the file is gone from history and its download is 404."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    file = (await upload(api, alice, room, b"bye", "bye.txt", "text/plain")).json()["file"]
    sent = await api.post(
        f"/rooms/{room}/messages", json={"client_msg_id": "d1", "body": "x", "file_ids": [file["id"]]},
        headers=bearer(alice),
    )  # fmt: skip
    seq = sent.json()["message"]["seq"]
    assert (await api.delete(f"/rooms/{room}/messages/{seq}", headers=bearer(alice))).json()["message"]["files"] == []
    assert (await api.get(f"/files/{file['id']}", headers=bearer(alice))).status_code == 404


async def test_an_unknown_file_id_refuses_the_send(api: httpx.AsyncClient) -> None:
    """A send naming a file that does not exist is 404 and stores nothing."""
    alice = await register(api, "alice")
    room = await private_room(api, alice)
    sent = await api.post(
        f"/rooms/{room}/messages", json={"client_msg_id": "u1", "body": "", "file_ids": ["Q" * 22]},
        headers=bearer(alice),
    )  # fmt: skip
    assert sent.status_code == 404 and "upload it first" in sent.json()["error"]["message"]
