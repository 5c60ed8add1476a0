"""The file sweeper: a periodic task that removes for good the files nobody may see any more.

Every CHAT_FILE_SWEEP_SECONDS it claims uploads that no message attached within the grace period
(CHAT_FILE_GRACE_SECONDS), then deletes the bytes (file and thumbnail) of removed files, claimed
uploads at once and deleted messages' files once the grace period has passed, then their rows.
Bytes first: no bytes outlive their row unnoticed, and a sweep cut short is finished by the next
(the row still says what to delete). Small batches; several replicas may sweep at once
(claims are conditional UPDATEs, store deletes and row deletes are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from chat_svc.blobs import Blobs, thumbnail_key
from chat_svc.files import SWEEP_BATCH, Files
from common.db import Database
from common.timestamps import utcnow

log = logging.getLogger(__name__)


class FileSweeper:
    """Removes expired uploads and deleted messages' files, every `every_s` seconds."""

    def __init__(self, db: Database, files: Files, blobs: Blobs, grace_s: float, every_s: float) -> None:
        self._db = db
        self._files = files
        self._blobs = blobs
        self._grace_s = grace_s
        self._every_s = every_s
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """One full sweep, batch after batch; how many files were removed."""
        removed = 0
        while await self._db.run(self._files.claim_unattached, utcnow(), self._grace_s) == SWEEP_BATCH:
            pass  # claim everything due first: the removal below takes them in batches too
        while True:
            due = await self._db.run(self._files.removable, utcnow(), self._grace_s)
            if not due:
                return removed
            for file in due:
                await self._blobs.delete(file.id, thumbnail_key(file.id))
            await self._db.run(self._files.forget, [file.id for file in due])
            removed += len(due)
            if len(due) < SWEEP_BATCH:
                return removed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                removed = await self.sweep()
            except Exception as exc:  # noqa: BLE001 - the store or the database is away: next time
                log.warning("file sweep failed (%s); trying again in %.0f s", exc, self._every_s)
                continue
            if removed:
                log.info("file sweep removed %d files", removed)

    def start(self) -> None:
        """Sweep periodically until stopped."""
        self._task = asyncio.create_task(self._run(), name="file-sweeper")

    async def stop(self) -> None:
        """Stop sweeping (a sweep cut short is finished by the next)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
