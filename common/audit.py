"""The operators' audit log, as each service keeps it in its own database (parley.audit.v1).

A service's model mixes in AuditColumns (auth_svc.models.AuditEntry, chat_svc's likewise); its
operator servicer records each write with `record`, in the transaction of the change, and answers
ListAuditLog with `page`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.db import BigId, PreciseDateTime
from common.errors import InvalidArgument
from common.timestamps import to_timestamp, utcnow
from parley.audit.v1 import audit_pb2

REASON_MAX = 500
PAGE_DEFAULT, PAGE_MAX = 100, 500


class AuditColumns:
    """The columns of an audit_log table: id ascending with time, who, what, to what, why, details."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(PreciseDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")


class AuditModel(Protocol):
    """A mapped class with AuditColumns."""

    id: Any
    at: Any
    actor: Any
    action: Any
    target: Any
    reason: Any
    detail_json: Any

    def __init__(self, **kwargs: Any) -> None: ...


def reason(text: str) -> str:
    """The reason an operator gave, stripped; InvalidArgument when missing or too long."""
    stripped = text.strip()
    if not stripped:
        raise InvalidArgument("give a reason (it is recorded in the audit log)")
    if len(stripped) > REASON_MAX:
        raise InvalidArgument(f"the reason must be at most {REASON_MAX} characters")
    return stripped


def record(s: Session, model: type[AuditModel], actor: str, action: str, target: str, why: str, **detail: Any) -> None:
    """Add an entry to the session's transaction (committed with the change it records)."""
    s.add(
        model(
            at=utcnow(),
            actor=actor[:80],
            action=action,
            target=target[:80],
            reason=why,
            detail_json=orjson.dumps(detail).decode(),
        )
    )


def page(s: Session, model: type[AuditModel], request: audit_pb2.ListAuditLogRequest) -> audit_pb2.ListAuditLogResponse:
    """A page of entries, newest first, older than request.before_id, of one actor or target if given."""
    size = request.page_size or PAGE_DEFAULT
    if not 1 <= size <= PAGE_MAX:
        raise InvalidArgument(f"page_size must be 1-{PAGE_MAX}")
    if request.before_id < 0:
        raise InvalidArgument("before_id must not be negative")
    query = select(model).order_by(model.id.desc()).limit(size)
    if request.before_id:
        query = query.where(model.id < request.before_id)
    if request.actor:
        query = query.where(model.actor == request.actor)
    if request.target:
        query = query.where(model.target == request.target)
    return audit_pb2.ListAuditLogResponse(
        entries=[
            audit_pb2.AuditEntry(
                id=row.id,
                at=to_timestamp(row.at),
                actor=row.actor,
                action=row.action,
                target=row.target,
                reason=row.reason,
                detail_json=row.detail_json,
            )
            for row in s.scalars(query)
        ]
    )
