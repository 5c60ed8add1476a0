"""Files' rules over chat_db: who may upload into a room, which uploads a send may attach, who may
download what, and which files the sweeper removes.

Blocking: runs on the Database's worker threads. The bytes are not here: uploads.py receives them
and puts them in the blob store (blobs.py) before add() records the file; sweeper.py removes bytes
before it forgets their rows. Attaching happens in the send's own transaction (messages.py asks
attach_error about each send).

A file's life: uploaded (message_seq NULL) -> attached by one message (message_seq set) -> its
message deleted (removed_at set: hidden at once) -> after the grace period, bytes and row gone.
An upload never attached is claimed by the sweeper after the grace period (removed_at set, so no
send can take it any more), then removed the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from chat_svc import access, models, repository, rules
from chat_svc.domain import File, Send
from common.db import Database
from common.errors import InvalidArgument, NotFound, ServiceError

SWEEP_BATCH = 100  # files handled per sweep step: small transactions, small deletes


def attach_error(send: Send, found: dict[str, models.File], claimed: Collection[str]) -> ServiceError | None:
    """Why this send cannot attach its files (None when it can): each must be the sender's own upload
    into this room, not removed, and attached to no message yet (nor by an earlier send of the batch)."""
    for file_id in send.file_ids:
        row = found.get(file_id)
        if row is None or row.room_id != send.room_id:
            return NotFound(f"room {send.room_id} has no file {file_id}; upload it first")
        if row.uploader_id != send.user_id:
            return InvalidArgument(f"file {file_id} was uploaded by someone else; attach your own uploads")
        if row.message_seq is not None or file_id in claimed:
            return InvalidArgument(f"file {file_id} is attached to another message already; upload it again")
    return None


class Files:
    """Files' records over one chat_db."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def require_member(self, user_id: int, room_id: int) -> None:
        """PermissionDenied / NotFound unless the user belongs to the room (before any byte is read)."""
        with self._db.sessions() as s:
            access.member_room(s, rules.room_id(room_id), user_id)

    def add(self, file: File) -> None:
        """Record an uploaded file, whose bytes are stored already; the uploader must still be a member."""
        with self._db.sessions.begin() as s:
            access.member_room(s, file.room_id, file.uploader_id)
            s.add(
                models.File(
                    id=file.id, room_id=file.room_id, uploader_id=file.uploader_id, name=file.name, size=file.size,
                    content_type=file.content_type, sha256=file.sha256, width=file.width, height=file.height,
                    thumbnail_size=file.thumbnail_size, thumbnail_type=file.thumbnail_type,
                    created_at=file.created_at, position=0,
                )
            )  # fmt: skip

    def for_download(self, user_id: int, file_id: str) -> File:
        """A file the user may read: in a room they belong to, not removed; an unattached upload only
        for its uploader. NotFound otherwise, whatever the reason (ids of other rooms stay unknown)."""
        missing = NotFound(f"no file {file_id[:40]!r}")
        if len(file_id) != rules.FILE_ID_CHARS:
            raise missing
        with self._db.sessions() as s:
            row = repository.files_by_id(s, [file_id]).get(file_id)
            if row is None or s.get(models.Member, (row.room_id, user_id)) is None:
                raise missing
            if row.message_seq is None and row.uploader_id != user_id:
                raise missing
            return repository.file_of(row)

    # -- the sweeper's steps (sweeper.py); each safe to run on several replicas at once -------------

    def claim_unattached(self, now: datetime, grace_s: float) -> int:
        """Mark uploads that no message attached within the grace period as removed; how many."""
        cutoff = now - timedelta(seconds=grace_s)
        f = models.File
        with self._db.sessions.begin() as s:
            ids = list(
                s.scalars(
                    select(f.id)
                    .where(f.message_seq.is_(None), f.created_at < cutoff, f.removed_at.is_(None))
                    .limit(SWEEP_BATCH)
                )
            )
            if not ids:
                return 0
            # Conditional: a send that attached one meanwhile keeps it.
            result = s.execute(
                update(f)
                .where(f.id.in_(ids), f.message_seq.is_(None), f.removed_at.is_(None))
                .values(removed_at=now)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def removable(self, now: datetime, grace_s: float) -> list[File]:
        """Removed files whose bytes may go: claimed uploads at once, deleted messages' past the grace period."""
        cutoff = now - timedelta(seconds=grace_s)
        f = models.File
        with self._db.sessions() as s:
            rows = s.scalars(
                select(f)
                .where(f.removed_at.is_not(None), or_(f.message_seq.is_(None), f.removed_at < cutoff))
                .order_by(f.removed_at)
                .limit(SWEEP_BATCH)
            )
            return [repository.file_of(row) for row in rows]

    def forget(self, file_ids: Sequence[str]) -> None:
        """Delete the rows of removed files whose bytes are gone (a row deleted already is fine)."""
        if file_ids:
            f = models.File
            with self._db.sessions.begin() as s:
                s.execute(delete(f).where(f.id.in_(list(file_ids)), f.removed_at.is_not(None)))

    def drop_upload(self, file_id: str) -> None:
        """Forget an upload that is not attached (its caller went while it was stored)."""
        f = models.File
        with self._db.sessions.begin() as s:
            s.execute(delete(f).where(f.id == file_id, f.message_seq.is_(None)))
