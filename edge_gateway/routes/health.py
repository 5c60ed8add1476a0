"""Liveness and readiness of the gateway."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always ok while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", summary="The gateway has had chat_svc's event stream")
async def readyz(request: Request) -> Any:
    """503 until the event stream from chat_svc was live once.

    A later break (a chat_svc replica or the broker down) does not make the gateway unready: every
    gateway shares such an outage, REST and sends still work, and sockets catch up from MySQL when
    the stream is back. Taking every gateway out of the load balancer would turn it into downtime.
    """
    fanout = request.app.state.fanout
    status = "ready" if fanout.live else ("degraded" if fanout.started else "starting")
    return JSONResponse({"status": status}, status_code=200 if fanout.started else 503)
