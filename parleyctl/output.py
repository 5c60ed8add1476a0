"""What parleyctl prints: a table for people, or one JSON object per line for scripts (--json).

JSON is the proto message as protobuf's JSON mapping gives it, with the proto field names
(`user_id`, not `userId`), so a script reads the same names as docs/grpc-api.md. int64 fields are
strings there, as the mapping says.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message


def as_dict(message: Message) -> dict[str, Any]:
    """The proto message as JSON-ready data, every field present (zeros too)."""
    data: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return data


class Printer:
    """Prints records as a table or as JSON lines, to `out`."""

    def __init__(self, json_lines: bool, out: TextIO | None = None) -> None:
        self.json = json_lines
        self._out = out or sys.stdout

    def records(self, messages: Iterable[Message], columns: Sequence[tuple[str, Any]]) -> int:
        """One line per message: JSON, or the table's columns (header, function of the message); how many."""
        if self.json:
            count = 0
            for message in messages:
                self.line(orjson.dumps(as_dict(message)).decode())
                count += 1
            return count
        rows = [[str(cell(m)) for _, cell in columns] for m in messages]
        self.table([header for header, _ in columns], rows)
        return len(rows)

    def one(self, message: Message, fields: Sequence[tuple[str, Any]]) -> None:
        """A single record: JSON, or "name: value" lines."""
        if self.json:
            self.line(orjson.dumps(as_dict(message)).decode())
            return
        width = max(len(name) for name, _ in fields)
        for name, value in fields:
            self.line(f"{name + ':':<{width + 1}} {value(message)}")

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        """Left-aligned columns; "(none)" for no rows."""
        if not rows:
            self.line("(none)")
            return
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
        for row in [headers, *rows]:
            self.line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def line(self, text: str) -> None:
        """One line, flushed (a tail is read as it comes)."""
        print(text, file=self._out, flush=True)

    def note(self, text: str) -> None:
        """A line for the person, on stderr: it stays out of what a script reads."""
        print(text, file=sys.stderr, flush=True)
