"""Traces across the mesh: real processes export over OTLP to a collector in the test (common/tracing.py)."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import orjson
import pytest
import websockets

from tests.support.otlp import Collector, Span
from tests.support.stack import PASSWORD, Stack

pytestmark = pytest.mark.mysql

TracedStack = tuple[Stack, Collector]
SERVER_KIND = 2  # OTLP's SPAN_KIND_SERVER


def _traceparent() -> tuple[str, str]:
    """A fresh sampled W3C traceparent, as the web app makes them; (header, trace id)."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


async def _room(stack: Stack, token: str) -> int:
    async with httpx.AsyncClient(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post("/rooms", json={"kind": "public", "name": "traced"})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


def _ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def _is_send_rpc(span: Span) -> bool:
    return (span.service, span.kind, span.name) == ("chat_svc", SERVER_KIND, "/parley.chat.v1.ChatService/SendMessage")


def _is_batch(span: Span) -> bool:
    return (span.service, span.name) == ("chat_svc", "chat.send_batch")


def _is_sql(span: Span) -> bool:
    system = span.attributes.get("db.system", span.attributes.get("db.system.name"))
    return span.service == "chat_svc" and system in ("mysql", "sqlite")


def _is_insert(span: Span) -> bool:
    return _is_sql(span) and span.name.upper().startswith("INSERT")


def _is_gateway(span: Span) -> bool:
    return (span.service, span.kind) == ("edge_gateway", SERVER_KIND)


async def test_a_rest_send_is_one_trace_from_the_gateway_to_chat_svcs_sql(traced_stack: TracedStack) -> None:
    """POST /rooms/{id}/messages with a traceparent: the gateway's, chat_svc's and its SQL spans share its trace."""
    stack, collector = traced_stack
    _, token = await asyncio.to_thread(stack.register, "tracer")
    room = await _room(stack, token)
    header, trace_id = _traceparent()
    async with httpx.AsyncClient(base_url=stack.api_url, headers={"Authorization": f"Bearer {token}"}) as client:
        sent = await client.post(
            f"/rooms/{room}/messages", json={"client_msg_id": "t1", "body": "traced"}, headers={"traceparent": header}
        )
    assert sent.status_code == 201, sent.text

    def complete(spans: list[Span]) -> bool:
        mine = [span for span in spans if span.trace_id == trace_id]
        # Each component's exporter sends on its own schedule: wait for every span asserted on below.
        return all(any(want(span) for span in mine) for want in (_is_batch, _is_insert, _is_send_rpc, _is_gateway))

    spans = [span for span in await asyncio.to_thread(collector.wait_for, complete) if span.trace_id == trace_id]
    by_id = {span.span_id: span for span in spans}
    services = {span.service for span in spans}
    assert {"edge_gateway", "chat_svc"} <= services
    gateway_root = next(s for s in spans if _is_gateway(s))
    assert gateway_root.parent_id == header.split("-")[2]  # the browser's span is its parent
    rpc = next(s for s in spans if _is_send_rpc(s))
    assert gateway_root in _ancestors(rpc, by_id)
    batch = next(s for s in spans if _is_batch(s))
    assert (trace_id, rpc.span_id) in batch.links  # the group commit links the send it stored
    insert = next(s for s in spans if _is_insert(s))
    assert batch in _ancestors(insert, by_id) and gateway_root in _ancestors(insert, by_id)


async def test_a_websocket_send_frame_carries_its_trace_to_the_group_commit(traced_stack: TracedStack) -> None:
    """A send frame's traceparent: the gateway's frame span joins it, and chat_svc's batch links to that span."""
    stack, collector = traced_stack
    _, token = await asyncio.to_thread(stack.register, "wstracer")
    room = await _room(stack, token)
    header, trace_id = _traceparent()
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert orjson.loads(await ws.recv())["type"] == "ready"
        frame = {
            "type": "send",
            "ref": "s1",
            "room_id": room,
            "client_msg_id": "w1",
            "body": "x",
            "traceparent": header,
        }
        await ws.send(orjson.dumps(frame).decode())
        while (reply := orjson.loads(await ws.recv()))["type"] != "send_ack":
            assert reply["type"] != "error", reply

    def complete(spans: list[Span]) -> bool:
        frames = [s for s in spans if s.trace_id == trace_id and s.name == "ws send"]
        return bool(frames) and any((trace_id, frames[0].span_id) in s.links for s in spans)

    spans = await asyncio.to_thread(collector.wait_for, complete)
    frame_span = next(s for s in spans if s.trace_id == trace_id and s.name == "ws send")
    assert (frame_span.service, frame_span.parent_id) == ("edge_gateway", header.split("-")[2])
    batch = next(s for s in spans if (trace_id, frame_span.span_id) in s.links)
    assert (batch.service, batch.name) == ("chat_svc", "chat.send_batch")


async def test_redis_calls_are_traced(traced_stack: TracedStack) -> None:
    """With a broker, chat_svc's and the gateway's Redis commands are exported as spans too."""
    _, collector = traced_stack
    spans = await asyncio.to_thread(
        collector.wait_for, lambda spans: any(s.attributes.get("db.system") == "redis" for s in spans)
    )
    assert {s.service for s in spans if s.attributes.get("db.system") == "redis"} & {"chat_svc", "edge_gateway"}


async def test_a_log_line_inside_a_trace_names_its_trace_and_user(traced_stack: TracedStack) -> None:
    """auth_svc's warning about a reused refresh token carries the REST call's trace id and the session's user."""
    stack, _ = traced_stack
    header, trace_id = _traceparent()
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as api:
        registered = await api.post(
            "/auth/register", json={"username": f"reuser_{secrets.token_hex(4)}", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        spent = registered.json()["session"]["refresh_token"]
        assert (await api.post("/auth/refresh", json={"refresh_token": spent})).status_code == 200
        reused = await api.post("/auth/refresh", json={"refresh_token": spent}, headers={"traceparent": header})
    assert reused.status_code == 401

    def warning() -> dict[str, object] | None:
        for line in list(stack.processes["auth_svc"][0].lines):
            entry = orjson.loads(line) if line.startswith("{") else {}
            if "presented again" in str(entry.get("msg", "")) and entry.get("trace_id") == trace_id:
                return entry
        return None

    for _ in range(100):
        if (entry := warning()) is not None:
            break
        await asyncio.sleep(0.05)
    assert entry is not None, "no reuse warning in auth_svc's log with the request's trace id"
    assert entry["user_id"] == registered.json()["user"]["id"] and entry["span_id"]
