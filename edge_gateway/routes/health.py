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


@router.get("/readyz", summary="The gateway is connected to chat_svc's event stream")
async def readyz(request: Request) -> Any:
    """503 until the event stream from chat_svc is live, so that no socket misses events."""
    live = request.app.state.fanout.live
    return JSONResponse({"status": "ready" if live else "starting"}, status_code=200 if live else 503)
