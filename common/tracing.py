"""OpenTelemetry traces: set up once per process, and only when an OTLP endpoint is configured.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, `setup_tracing`
installs the SDK's tracer provider (service.name = the component, unless `OTEL_SERVICE_NAME` says
otherwise; sampler from `OTEL_TRACES_SAMPLER`), a batch exporter over OTLP/gRPC, and the maintained
instrumentations: gRPC (aio server and client: W3C trace context travels in the call's metadata),
SQLAlchemy (every engine made by common/db.py afterwards), Redis, and FastAPI (`instrument_app`).
Without it nothing is installed: the OpenTelemetry API's no-op tracer answers, and the few spans
written by hand here (WebSocket frames, the group commit) are skipped before they are made.

Streaming RPCs (the gateway's event stream and send stream, file transfers) are not traced by the
gRPC instrumentation: its client wrapper turns a call into a bare iterator (no `write`, no
trailers), and a span as long as a stream says nothing. Health checks and reflection are left out too.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context, trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# W3C trace context, version 00 and later ones (which may append fields): bounded, lowercase hex.
TRACEPARENT_MAX = 128
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[0-9a-zA-Z._-]*)?")
_propagator = TraceContextTextMapPropagator()
_enabled = False
_tracer: trace.Tracer = trace.NoOpTracer()


def enabled() -> bool:
    """True once `setup_tracing` installed the SDK in this process."""
    return _enabled


def setup_tracing(service: str) -> bool:
    """Install the SDK, the OTLP exporter and the instrumentations if an endpoint is set; True if so.

    Call it from the process's main before any server, channel or engine is made (they are patched
    at creation). Calling it again does nothing.
    """
    global _enabled, _tracer
    if _enabled:
        return True
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    # Imported here: a process without tracing does not load the SDK or the instrumentations.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; ours only fills the gap.
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))  # sampler: OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # OTEL_BSP_* tune the batches
    trace.set_tracer_provider(provider)
    GrpcAioInstrumentorServer(filter_=_traced_rpc).instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient(filter_=_traced_rpc).instrument()  # type: ignore[no-untyped-call]
    # The instrumentation's declared range ends before SQLAlchemy 2.1 (ours); its engine events work there.
    SQLAlchemyInstrumentor().instrument(skip_dep_check=True)
    RedisInstrumentor().instrument()
    _tracer = trace.get_tracer("parley")
    _enabled = True
    log.info("tracing: exporting spans over OTLP as %s", attributes.get(SERVICE_NAME) or "OTEL_SERVICE_NAME")
    return True


def instrument_app(app: Any) -> None:
    """Trace the gateway's REST requests (not the WebSocket: its frames get spans of their own)."""
    if not _enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="/api/v1/ws,/healthz,/readyz", exclude_spans=["receive", "send"]
    )


def valid_traceparent(value: object) -> str | None:
    """The value if it is a well-formed W3C traceparent of bounded length, else None."""
    if isinstance(value, str) and len(value) <= TRACEPARENT_MAX and _TRACEPARENT.fullmatch(value):
        return value
    return None


@contextmanager
def frame_span(name: str, traceparent: str | None, attributes: Attributes = None) -> Iterator[None]:
    """A server span around one WebSocket frame: a child of the frame's `traceparent`, else a new trace."""
    if not _enabled:
        yield
        return
    parent = _propagator.extract({"traceparent": traceparent}) if traceparent else otel_context.Context()
    with _tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER, attributes=attributes):
        yield


def current_span_context() -> SpanContext | None:
    """The current span's context when tracing and inside a span (kept with queued work), else None."""
    if not _enabled:
        return None
    span_context = trace.get_current_span().get_span_context()
    return span_context if span_context.is_valid else None


def traceparent() -> str:
    """The current span's context as a W3C traceparent, or "" (to carry it where metadata cannot)."""
    if not _enabled:
        return ""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def context_from(traceparent_value: str) -> Iterator[None]:
    """Run the block as part of the trace a traceparent names (nothing when off or malformed)."""
    if not _enabled or not valid_traceparent(traceparent_value):
        yield
        return
    token = otel_context.attach(_propagator.extract({"traceparent": traceparent_value}))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def batch_span(name: str, members: Iterable[SpanContext | None], attributes: Attributes = None) -> Iterator[None]:
    """A span for work done for many requests at once, linked to each request's span.

    Its parent is the first member's span (the request that opened the batch), so that a lone
    request's trace reaches down to the batch's SQL; every member, the first too, is linked.
    """
    if not _enabled:
        yield
        return
    linked = [member for member in members if member is not None]
    parent = trace.set_span_in_context(NonRecordingSpan(linked[0])) if linked else otel_context.Context()
    links = [Link(member) for member in linked]
    with _tracer.start_as_current_span(name, context=parent, links=links, attributes=attributes):
        yield


def _traced_rpc(details: Any) -> bool:
    """The gRPC instrumentations' filter: unary calls of our services only."""
    method = details.method.decode() if isinstance(details.method, bytes) else str(details.method)
    return method not in _untraced_methods()


_UNTRACED: set[str] = set()


def _untraced_methods() -> set[str]:
    if not _UNTRACED:
        from grpc_health.v1 import health_pb2

        from parley.auth.v1 import auth_pb2
        from parley.chat.v1 import chat_pb2

        for service in (
            *auth_pb2.DESCRIPTOR.services_by_name.values(),
            *chat_pb2.DESCRIPTOR.services_by_name.values(),
        ):
            for method in service.methods:
                if method.client_streaming or method.server_streaming:
                    _UNTRACED.add(f"/{service.full_name}/{method.name}")
        for method in health_pb2.DESCRIPTOR.services_by_name["Health"].methods:
            _UNTRACED.add(f"/grpc.health.v1.Health/{method.name}")
        for name in ("v1alpha", "v1"):
            _UNTRACED.add(f"/grpc.reflection.{name}.ServerReflection/ServerReflectionInfo")
    return _UNTRACED
