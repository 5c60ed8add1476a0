"""What browsers are told and allowed (docs/security.md, "Headers, origins and the internal network").

Security headers on every HTTP answer: the API answers JSON and files, never pages to frame or
scripts to run, so `default-src 'none'`; the docs page (Swagger UI from its CDN, with an inline
script) gets what it needs and nothing more.

WebSocket origins: a browser sends its page's Origin with every handshake and lets any page open a
socket to any host (CORS does not apply), carrying nothing but what the page itself knows, so a
hostile page could still pass for the web app. A handshake whose Origin is not one of the CORS
origins is refused (HTTP 403) before the socket opens. Without an Origin the client is not a browser
(a bot, a CLI), which signs in with its own token and is let in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; frame-ancestors 'none'"
)
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """ASGI middleware: adds the headers to each HTTP response start; refuses WebSockets from other origins."""

    def __init__(self, app: Any, docs_path: str, origins: Sequence[str]) -> None:
        self.app = app
        self._docs_path = docs_path
        self._any_origin = "*" in origins
        self._origins = {origin.rstrip("/").lower() for origin in origins}

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a WebSocket handshake with this Origin header may open."""
        return origin is None or self._any_origin or origin.rstrip("/").lower() in self._origins

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            origin = next((v.decode("latin-1") for n, v in scope.get("headers", []) if n == b"origin"), None)
            if not self.origin_allowed(origin):
                log.info(
                    "refused a WebSocket from origin %r (not in GATEWAY_CORS_ORIGINS)",
                    origin[:200] if origin else origin,
                )
                await send({"type": "websocket.close", "code": 1008})  # before accept: uvicorn answers 403
                return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope.get("path") == self._docs_path else API_POLICY

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _COMMON if n not in present]
                extra.append((b"content-security-policy", policy.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
