"""JSON log lines: one object per line with the service name, the trace and the user."""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext

from common.logs import JsonFormatter, setup_logging, user_id


def _record(message: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("parley.test", logging.WARNING, __file__, 1, message, args, exc_info)  # type: ignore[arg-type]


def test_record_becomes_one_json_object() -> None:
    """A record is one line of JSON with time, level, service, logger and the formatted message."""
    line = JsonFormatter("auth_svc").format(_record("user %s joined", "zoë"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["service"] == "auth_svc"
    assert entry["logger"] == "parley.test"
    assert entry["msg"] == "user zoë joined"
    assert entry["ts"].endswith("+00:00")


def test_exception_is_included() -> None:
    """An exception's traceback goes into the 'exc' field of the same line."""
    try:
        raise ValueError("boom")
    except ValueError:
        line = JsonFormatter("auth_svc").format(_record("failed", exc_info=sys.exc_info()))
    entry = json.loads(line)
    assert "\n" not in line
    assert "ValueError: boom" in entry["exc"]


def test_setup_logging_replaces_root_handlers() -> None:
    """setup_logging installs exactly one JSON handler on the root logger at the given level."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        setup_logging("chat_svc", "debug")
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_a_line_inside_a_span_names_its_trace_and_span() -> None:
    """Inside a span, the line carries trace_id and span_id as W3C hex; outside, neither."""
    span = NonRecordingSpan(SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=False))
    with trace.use_span(span):
        entry = json.loads(JsonFormatter("chat_svc").format(_record("in a span")))
    assert (entry["trace_id"], entry["span_id"]) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    outside = json.loads(JsonFormatter("chat_svc").format(_record("outside")))
    assert "trace_id" not in outside and "span_id" not in outside


def test_a_line_names_the_verified_user() -> None:
    """Once user_id is set (the caller's token verified), lines carry it; before, they do not."""
    assert "user_id" not in json.loads(JsonFormatter("chat_svc").format(_record("anonymous")))
    token = user_id.set(42)
    try:
        assert json.loads(JsonFormatter("chat_svc").format(_record("signed in")))["user_id"] == 42
    finally:
        user_id.reset(token)


def test_payload_loggers_stay_at_info_under_debug() -> None:
    """At DEBUG, the libraries that log frame payloads or request bodies (websockets via uvicorn) stay at INFO."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        setup_logging("edge_gateway", "DEBUG")
        assert not logging.getLogger("uvicorn.error").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("edge_gateway").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
