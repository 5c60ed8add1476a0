"""The audit log of operators' writes (ModerationService): who did what to what, when and why.

Each write records its entry with `record`, in its own transaction, so that an entry exists
exactly when its change does. ListAuditLog pages the entries newest first by id (a keyset:
`before_id`), optionally within one actor or one target (ix_audit_log_actor, ix_audit_log_target).

Blocking: runs on the Database's worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from chat_svc import models, rules
from chat_svc.domain import AuditEntry
from common.db import Database
from common.errors import InvalidArgument
from common.timestamps import utcnow

PAGE_DEFAULT, PAGE_MAX = 100, 500
_FILTER_MAX = 200  # characters of an actor or target filter (the columns' widths)


def room_target(room_id: int) -> str:
    """How an entry names a room."""
    return f"room:{room_id}"


def message_target(room_id: int, seq: int) -> str:
    """How an entry names a message."""
    return f"message:{room_id}/{seq}"


def record(s: Session, actor: str, action: str, target: str, reason: str, detail: Mapping[str, Any]) -> None:
    """Add an entry to the caller's transaction (committed with the change it records, or not at all)."""
    s.add(
        models.AuditEntry(
            at=utcnow(),
            actor=actor,
            action=action,
            target=target,
            reason=reason,
            detail_json=orjson.dumps(dict(detail)).decode(),
        )
    )


def _entry_of(row: models.AuditEntry) -> AuditEntry:
    return AuditEntry(row.id, row.at, row.actor, row.action, row.target, row.reason, row.detail_json)


class AuditLog:
    """Reads of the audit log over one chat_db."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page(self, before_id: int, page_size: int, actor: str, target: str) -> list[AuditEntry]:
        """Entries older than before_id (0: from the newest), newest first, of one actor and target if given."""
        size = rules.page_size(page_size, PAGE_DEFAULT, PAGE_MAX, field="page_size")
        if before_id < 0:
            raise InvalidArgument("before_id must not be negative (0 = from the newest)")
        if len(actor) > _FILTER_MAX or len(target) > _FILTER_MAX:
            raise InvalidArgument(f"actor and target filters are at most {_FILTER_MAX} characters")
        entry = models.AuditEntry
        statement = select(entry)
        if before_id:
            statement = statement.where(entry.id < before_id)
        if actor:
            statement = statement.where(entry.actor == actor)
        if target:
            statement = statement.where(entry.target == target)
        with self._db.sessions() as s:
            rows = s.scalars(statement.order_by(entry.id.desc()).limit(size)).all()
            return [_entry_of(row) for row in rows]
