"""Receiving an upload: bytes spooled to a temp file while hashed, measured and sniffed, then checked,
thumbnailed, put in the blob store and recorded. Nothing stays of an upload that fails or ends early.

    start ──► name, room, declared size checked; membership checked (before any byte is read)
    chunks ──► temp file (sha256, size, Sniff), refused the moment the bytes pass the limit
    end ──► type (sniffed; the claimed one kept when the bytes agree), allow-list, image: thumbnail
        ──► blob store (file, thumbnail) ──► files row (files.py)

Every blocking step (writing, hashing, Pillow, the store) runs on the blob workers (blobs.Blobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from chat_svc import media, rules
from chat_svc.blobs import Blobs, thumbnail_key
from chat_svc.domain import File
from chat_svc.files import Files
from common.db import Database
from common.errors import InvalidArgument, ResourceExhausted
from common.timestamps import utcnow

log = logging.getLogger(__name__)

TOO_LARGE = "file_too_large"  # ServiceError.reason of a file over the limit
Accepted = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class UploadStart:
    """What the first message of an upload says."""

    room_id: int
    name: str
    content_type: str  # claimed
    size: int  # declared; 0 = unknown


class _Spool:
    """An upload's temp file, with its running hash, size and sniff. Blocking calls: on the blob workers."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd: int | None = fd
        self.path = path
        self.thumbnail = path.with_name(path.name + ".thumb")
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.sniff = media.Sniff()

    def write(self, chunk: bytes) -> None:
        assert self.fd is not None
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view) :]
        self.sha256.update(chunk)
        self.sniff.feed(chunk)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        self.thumbnail.unlink(missing_ok=True)


class Uploads:
    """Receives uploads into rooms."""

    def __init__(
        self, db: Database, files: Files, blobs: Blobs, max_bytes: int, allowed: frozenset[str], thumbnail_px: int
    ) -> None:
        self._db = db
        self._files = files
        self._blobs = blobs
        self._max_bytes = max_bytes
        self._allowed = allowed
        self._thumbnail_px = thumbnail_px
        self._undoing: set[asyncio.Task[None]] = set()

    def _too_large(self, declared: int = 0) -> ResourceExhausted:
        limit = f"files may be at most {_mib(self._max_bytes)} ({self._max_bytes} bytes)"
        said = f"this file is {_mib(declared)}" if declared else "this file is larger than that"
        return ResourceExhausted(f"{said}; {limit}" if declared else f"{limit}; {said}", reason=TOO_LARGE)

    async def receive(
        self, user_id: int, start: UploadStart, chunks: AsyncIterator[bytes], accepted: Accepted | None = None
    ) -> File:
        """Store one upload of the user's (not attached yet); InvalidArgument / ResourceExhausted / NotFound.

        accepted(max_bytes) is awaited once the start is accepted, before any byte is read: the
        servicer tells the client, which then sends the bytes (see servicer.UploadFile).
        """
        name, room_id = rules.file_name(start.name), rules.room_id(start.room_id)
        if start.size < 0:
            raise InvalidArgument("size must not be negative (0 = unknown)")
        if start.size > self._max_bytes:
            raise self._too_large(start.size)
        await self._db.run(self._files.require_member, user_id, room_id)
        if accepted is not None:
            await accepted(self._max_bytes)
        # Made on the loop, not the workers: a cancellation while a worker made it would strand the file.
        spool = _Spool(*self._blobs.spool())
        handed_over = False
        try:
            await self._take(spool, chunks, start.size)
            file = await self._examine(spool, File("", room_id, user_id, name, 0, "", "", utcnow()), start)
            # From here the file is stored whole or not at all, even if the caller goes meanwhile.
            storing = asyncio.ensure_future(self._store(file, spool))
            handed_over = True
            try:
                return await asyncio.shield(storing)
            except asyncio.CancelledError:
                self._undo_when_done(storing, file)
                raise
        finally:
            if not handed_over:
                await asyncio.shield(self._blobs.run(spool.discard))

    async def _take(self, spool: _Spool, chunks: AsyncIterator[bytes], declared: int) -> None:
        """Spool the bytes; refused the moment they pass the limit, or when they do not add up to `declared`."""
        async for chunk in chunks:
            if spool.size + len(chunk) > self._max_bytes:
                raise self._too_large()
            spool.size += len(chunk)
            await self._blobs.run(spool.write, chunk)
        await self._blobs.run(spool.close)
        if declared and spool.size != declared:
            raise InvalidArgument(f"the upload ended after {spool.size} bytes; start said {declared}")
        if not spool.size:
            raise InvalidArgument("the file is empty")

    async def _examine(self, spool: _Spool, draft: File, start: UploadStart) -> File:
        """The file the spooled bytes make: type checked against the allow-list; an image measured, thumbnailed."""
        kind = media.content_type(start.content_type, spool.sniff.sniffed(), self._allowed)
        media.require_allowed(kind, self._allowed)
        file = replace(
            draft, id=secrets.token_urlsafe(16), size=spool.size, content_type=kind, sha256=spool.sha256.hexdigest()
        )
        if kind not in media.RASTER:
            return file
        picture = await self._blobs.run(media.thumbnail, spool.path, spool.thumbnail, self._thumbnail_px)
        size = await self._blobs.run(os.path.getsize, spool.thumbnail)
        return replace(
            file, width=picture.width, height=picture.height, thumbnail_size=size, thumbnail_type=picture.thumbnail_type
        )

    async def _store(self, file: File, spool: _Spool) -> File:
        """Bytes first, then the row; whatever fails on the way, what was put is deleted again."""
        try:
            await self._blobs.put(file.id, spool.path, file.content_type)
            if file.thumbnail_size:
                await self._blobs.put(thumbnail_key(file.id), spool.thumbnail, file.thumbnail_type)
            await self._db.run_once(self._files.add, file)
            return file
        except BaseException:
            with contextlib.suppress(Exception):  # the store may be what failed: the sweeper cannot see these
                await self._blobs.delete(file.id, thumbnail_key(file.id))
            raise
        finally:
            await self._blobs.run(spool.discard)

    def _undo_when_done(self, storing: asyncio.Future[File], file: File) -> None:
        """The caller went while the file was being stored: once stored, remove it again (nothing stays)."""

        async def undo() -> None:
            with contextlib.suppress(Exception):
                await storing
                await self._db.run(self._files.drop_upload, file.id)
                await self._blobs.delete(file.id, thumbnail_key(file.id))

        task = asyncio.ensure_future(undo())
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"
