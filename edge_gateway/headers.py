"""Security headers on every HTTP answer of the gateway (docs/security.md, "Headers, origins and the internal network").

The API answers JSON and files, never pages to frame or scripts to run: `default-src 'none'`. The
docs page (Swagger UI from its CDN, with an inline script) gets what it needs and nothing more.
"""

from __future__ import annotations

from typing import Any

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
    """ASGI middleware: adds the headers to each HTTP response start (WebSockets pass through)."""

    def __init__(self, app: Any, docs_path: str) -> None:
        self.app = app
        self._docs_path = docs_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
