"""Counts REST requests by route template (never the raw path: ids would make series without end) and status."""

from __future__ import annotations

import time
from typing import Any

from edge_gateway.deps import API_PREFIX
from edge_gateway.metrics import HTTP_REQUESTS, HTTP_SECONDS

UNMATCHED = "unmatched"  # no route: one series for every unknown path


class RequestMetrics:
    """ASGI middleware, inside the others: the router has set scope["route"] by the time the answer starts."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # the app raised before answering

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = _template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(template, method, str(status)).inc()
            HTTP_SECONDS.labels(template, method).observe(time.perf_counter() - started)


def _template(scope: dict[str, Any]) -> str:
    """The matched route's path template, as the client called it (/api/v1/rooms/{room_id})."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return UNMATCHED
    # FastAPI (0.16x) puts the router's own route in the scope, whose path lacks include_router's prefix.
    if scope["path"].startswith(API_PREFIX) and not template.startswith(API_PREFIX):
        template = API_PREFIX + template
    return str(template)
