"""chat_svc's audit log of operators' writes (ModerationService), kept the shared way (common/audit.py).

Each write records its entry with `record` in its own transaction, so that an entry exists exactly
when its change does; ListAuditLog pages them newest first (common.audit.page). Targets are named
"room:<id>" and "message:<room>/<seq>".

Blocking: runs on the Database's worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from chat_svc import models
from common import audit
from common.db import Database
from parley.audit.v1 import audit_pb2

reason = audit.reason  # an operator's reason: 1-500 characters, or InvalidArgument


def room_target(room_id: int) -> str:
    """How an entry names a room."""
    return f"room:{room_id}"


def message_target(room_id: int, seq: int) -> str:
    """How an entry names a message."""
    return f"message:{room_id}/{seq}"


def record(s: Session, actor: str, action: str, target: str, why: str, detail: Mapping[str, Any]) -> None:
    """Add an entry to the caller's transaction (committed with the change it records, or not at all)."""
    audit.record(s, models.AuditEntry, actor, action, target, why, **detail)


class AuditLog:
    """Reads of the audit log over one chat_db."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def page(self, request: audit_pb2.ListAuditLogRequest) -> audit_pb2.ListAuditLogResponse:
        """Entries older than before_id (0: from the newest), newest first, of one actor and target if given."""
        with self._db.sessions() as s:
            return audit.page(s, models.AuditEntry, request)
