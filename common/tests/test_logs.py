"""JSON log lines: one object per line with the service name."""

from __future__ import annotations

import json
import logging
import sys

from common.logs import JsonFormatter, setup_logging


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
