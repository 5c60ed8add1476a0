"""JSON log lines on stdout, one object per line, for every service.

Each line carries `trace_id` and `span_id` when it is written inside a span (common/tracing.py),
so that a line can be found from its trace and the other way round, and `user_id` once the caller's
token has been verified (`user_id` below, set by common/tokens.py). Lines never carry tokens,
passwords or message bodies: the services do not log them, and the libraries that would at DEBUG
(frame payloads, HTTP bodies and headers) are held at INFO whatever the level.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

# The verified user of the request or socket this code runs for (None: not known, or a service).
user_id: ContextVar[int | None] = ContextVar("user_id", default=None)

# Their DEBUG lines hold payloads: websockets (through uvicorn's logger) logs every frame's text,
# auth tokens included; botocore, urllib3, httpcore and hpack log request bodies or headers.
_PAYLOAD_LOGGERS = ("uvicorn.error", "websockets", "botocore", "urllib3", "httpcore", "httpx", "hpack")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # The record is formatted where it was logged (a StreamHandler), so the context is the caller's.
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        user = user_id.get()
        if user is not None:
            entry["user_id"] = user
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stdout as JSON."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, root.level))
