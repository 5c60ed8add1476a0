"""A real chat_svc gRPC server in the test's event loop for the file tests, over a folder store or a real
S3-compatible server (moto's, as a process), on SQLite or MySQL; and helpers that upload and download."""

from __future__ import annotations

import asyncio
import io
import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import grpc
from PIL import Image
from sqlalchemy import func, select

from chat_svc import models
from chat_svc.directory import UserDirectory
from chat_svc.events import EventHub
from chat_svc.server import build_servicer
from chat_svc.service import Chat
from chat_svc.settings import ChatSettings
from chat_svc.tests.helpers import FakeDirectory, TokenMint
from common.db import Database
from common.grpc_errors import REASON_KEY
from common.limits import UPLOAD_LIMIT_KEY
from common.server import new_server
from common.tokens import auth_metadata
from parley.chat.v1 import chat_pb2 as pb, chat_pb2_grpc

CHUNK = 64 * 1024


@dataclass
class FileChat:
    """A started server, a stub to it, and what the tests look at: rows and stored blobs."""

    server: grpc.aio.Server
    channel: grpc.aio.Channel
    stub: chat_pb2_grpc.ChatServiceAsyncStub
    chat: Chat
    db: Database
    mint: TokenMint
    settings: ChatSettings
    s3: Any = None  # a boto3 client of the S3 server, when the store is S3

    def md(self, user_id: int) -> tuple[tuple[str, str], ...]:
        """Call metadata of a user."""
        return auth_metadata(self.mint.token(user_id))

    async def room(self, owner: int, *members: int) -> int:
        """A new private room with these members (each accepts their invitation); its id."""
        reply = await self.stub.CreateRoom(
            pb.CreateRoomRequest(kind=pb.ROOM_KIND_PRIVATE, name="files", member_ids=members), metadata=self.md(owner)
        )
        for member in members:
            await self.stub.AcceptInvitation(
                pb.AcceptInvitationRequest(room_id=reply.room.id), metadata=self.md(member)
            )
        return reply.room.id

    async def upload(
        self, user_id: int, room_id: int, data: bytes, name: str = "f.bin", content_type: str = "", size: int = -1
    ) -> pb.File:
        """UploadFile in 64 KiB chunks (size: declared; -1 = the real size)."""
        declared = len(data) if size < 0 else size
        call = self.stub.UploadFile(metadata=self.md(user_id))  # type: ignore[call-arg]
        start = pb.UploadStart(room_id=room_id, name=name, content_type=content_type, size=declared)
        await call.write(pb.UploadFileRequest(start=start))
        limit = int(dict(await call.initial_metadata()).get(UPLOAD_LIMIT_KEY, -1))
        if limit >= 0:  # the go-ahead: send the bytes, none past the first chunk that crosses the limit
            for at in range(0, len(data), CHUNK):
                await call.write(pb.UploadFileRequest(chunk=data[at : at + CHUNK]))
                if at + CHUNK > limit:
                    break
            else:
                await call.done_writing()
        reply = await call
        return reply.file

    async def download(self, user_id: int, file_id: str, thumbnail: bool = False) -> tuple[pb.File, bytes]:
        """DownloadFile: the `file` part and the bytes."""
        call = self.stub.DownloadFile(
            pb.DownloadFileRequest(file_id=file_id, thumbnail=thumbnail), metadata=self.md(user_id)
        )
        file, data = None, bytearray()
        async for part in call:
            if part.HasField("file"):
                file = part.file
            else:
                data += part.chunk
        assert file is not None
        return file, bytes(data)

    async def send(self, user_id: int, room_id: int, file_ids: list[str], body: str = "", key: str = "") -> pb.Message:
        """SendMessage with files."""
        request = pb.SendMessageRequest(
            room_id=room_id, client_msg_id=key or f"k-{next(_keys)}", body=body, file_ids=file_ids
        )
        return (await self.stub.SendMessage(request, metadata=self.md(user_id))).message

    def file_rows(self) -> int:
        """Rows of the files table."""
        with self.db.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(models.File)) or 0)

    def blobs(self) -> list[str]:
        """Keys in the store."""
        if self.s3 is not None:
            listed = self.s3.list_objects_v2(Bucket=self.settings.s3_bucket)
            return sorted(item["Key"] for item in listed.get("Contents", []))
        return sorted(p.name for p in Path(self.settings.file_folder).iterdir() if p.is_file())

    def spooled(self) -> list[str]:
        """Temp files of uploads in flight (or left behind)."""
        scratch = self.chat.blobs.store.scratch
        return sorted(p.name for p in scratch.iterdir()) if scratch is not None else []


_keys = itertools.count(1)


async def start(settings: ChatSettings, mint: TokenMint, s3: Any = None) -> FileChat:
    """Build and start the server on a free port."""
    db = Database(settings.database_url, threads=4)
    hub = EventHub(asyncio.get_running_loop(), settings.stream_queue_events)
    servicer = build_servicer(settings, db, hub, mint.key_source(), cast(UserDirectory, FakeDirectory()))
    server = new_server()
    chat_pb2_grpc.add_ChatServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = chat_pb2_grpc.ChatServiceStub(channel)
    return FileChat(server, channel, stub, servicer.chat, db, mint, settings, s3)


async def stop(files: FileChat) -> None:
    """Stop the server and close everything."""
    await files.channel.close(None)
    await files.server.stop(None)
    files.chat.blobs.close()
    files.db.close()


def reason(error: grpc.aio.AioRpcError) -> str:
    """The parley-reason trailer of a failed call."""
    trailers: Any = error.trailing_metadata() or ()
    return next((str(value) for key, value in trailers if key == REASON_KEY), "")


def png(width: int = 640, height: int = 480, exif_orientation: int = 0) -> bytes:
    """A PNG (or, with an EXIF orientation, a JPEG) of this size."""
    image = Image.new("RGB", (width, height), (200, 30, 60))
    out = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def copy_sqlite(template: Path, target: Path) -> str:
    """A copy of the migrated SQLite template; its URL."""
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
