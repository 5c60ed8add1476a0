"""Files' bytes through the gateway, never whole in memory: a request body streamed into UploadFile,
DownloadFile streamed out as a response body; and the headers a download is served with.

UploadFile's flow (chat_svc/servicer.py): write `start`, wait for the go-ahead (initial metadata
with the size limit; a refusal ends the call instead), then the bytes in 64 KiB chunks, and none past
the first chunk that crosses the limit, so that chat_svc's refusal reaches us intact (grpc/grpc#36066).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import grpc
from starlette.requests import ClientDisconnect

from common.limits import UPLOAD_LIMIT_KEY
from edge_gateway.errors import ApiError
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Shown in the page (an <img> from an object URL); everything else is saved, never rendered by us.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
Call = Any  # grpc.aio.StreamUnaryCall[pb.UploadFileRequest, pb.UploadFileResponse]


async def rechunked(stream: AsyncIterator[bytes], size: int = CHUNK) -> AsyncIterator[bytes]:
    """The bytes of stream in chunks of `size` (the last one shorter)."""
    pending = bytearray()
    async for piece in stream:
        pending += piece
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


async def upload(call: Call, start: pb.UploadStart, body: AsyncIterator[bytes]) -> pb.UploadFileResponse:
    """Stream an upload into an UploadFile call; its answer (AioRpcError when chat_svc refuses it)."""
    try:
        await call.write(pb.UploadFileRequest(start=start))
        go_ahead: Any = await call.initial_metadata()
        limit = next((int(value) for key, value in go_ahead or () if key == UPLOAD_LIMIT_KEY), None)
        if limit is not None:
            sent = 0
            async for chunk in rechunked(body):
                await call.write(pb.UploadFileRequest(chunk=chunk))
                sent += len(chunk)
                if sent > limit:
                    break  # chat_svc refuses it now: wait for its answer
            else:
                await call.done_writing()
    except (asyncio.InvalidStateError, grpc.aio.AioRpcError):
        pass  # the call ended early; awaiting it raises its status
    except ClientDisconnect:
        call.cancel()  # chat_svc drops the upload: nothing is stored
        raise ApiError(grpc.StatusCode.CANCELLED, "the upload was cut off before its end") from None
    except BaseException:
        call.cancel()  # the browser went away (or we are shutting down): chat_svc drops the upload
        raise
    response: pb.UploadFileResponse = await call
    return response


def download_headers(file: pb.File, thumbnail: bool) -> dict[str, str]:
    """Headers of a download: its type and length, inline only for raster images, never sniffed, cached privately."""
    inline = file.content_type in INLINE_TYPES
    name = f"{file.name}.webp" if thumbnail else file.name
    return {
        "Content-Type": file.content_type,
        "Content-Length": str(file.size),
        "Content-Disposition": content_disposition(name, inline),
        "X-Content-Type-Options": "nosniff",
        # Ids are never reused and bytes never change; private: only the signed-in user's browser keeps it.
        "Cache-Control": "private, max-age=31536000, immutable",
        # Opened directly, a file can run nothing (defence in depth: SVG and HTML are never allowed anyway).
        "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; media-src 'self'; sandbox",
    }


def content_disposition(name: str, inline: bool) -> str:
    """RFC 6266: an ASCII fallback filename and the exact name as RFC 5987 filename*."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def body(call: Any) -> AsyncIterator[bytes]:
    """A download's bytes: the rest of the stream after its `file` part (read(), as that part was)."""
    try:
        while (part := await call.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
            yield part.chunk
    except grpc.aio.AioRpcError as exc:  # headers are sent: the short body (vs Content-Length) tells the browser
        log.warning("a download broke off: %s %s", exc.code().name, exc.details())
    finally:
        call.cancel()
