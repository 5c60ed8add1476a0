"""A tiny OTLP/gRPC trace collector for tests: real processes export to it as to any collector."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Self

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb, trace_service_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Span:
    """One exported span, flattened: ids as lowercase hex, the exporting service's name."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...]  # (trace id, span id) of each linked span


@dataclass
class Collector:
    """Collects every span exported to it; `endpoint` is what OTEL_EXPORTER_OTLP_ENDPOINT takes.

    keep=False only counts them (the bench's --trace: a long run's spans would fill the memory).
    """

    keep: bool = True
    spans: list[Span] = field(default_factory=list)
    received: int = 0
    _server: grpc.Server | None = None
    _port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        """The collector's URL (http: the exporters then connect without TLS)."""
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> Self:
        """Listen on a free port."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_TraceServiceServicer_to_server(_Servicer(self._add), server)
        self._port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.stop(0)

    def wait_for(self, found: Callable[[list[Span]], bool], timeout: float = 15) -> list[Span]:
        """The spans collected so far once `found` says they hold what the test needs; AssertionError on timeout."""
        until = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if found(spans):
                return spans
            if time.monotonic() > until:
                names = sorted({(span.service, span.name) for span in spans})
                raise AssertionError(f"the expected spans did not arrive in {timeout} s; have {names}")
            time.sleep(0.05)

    def _add(self, request: pb.ExportTraceServiceRequest) -> None:
        if not self.keep:
            count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
            with self._lock:
                self.received += count
            return
        spans = []
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), ""
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        Span(
                            service=service,
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            kind=span.kind,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
                        )
                    )
        with self._lock:
            self.spans.extend(spans)
            self.received += len(spans)


class _Servicer(pb_grpc.TraceServiceServicer):
    def __init__(self, add: Callable[[pb.ExportTraceServiceRequest], None]) -> None:
        self._add = add

    def Export(self, request: pb.ExportTraceServiceRequest, context: Any) -> pb.ExportTraceServiceResponse:
        self._add(request)
        return pb.ExportTraceServiceResponse()


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind in ("string_value", "int_value", "bool_value", "double_value") else str(value)
