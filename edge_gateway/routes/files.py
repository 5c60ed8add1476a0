"""Files: upload into a room (raw request body, streamed), download (streamed)."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from edge_gateway import convert, files, rules
from edge_gateway.deps import BackendsDep, CallerDep
from edge_gateway.errors import ApiError
from edge_gateway.schemas import INT64_FORMAT, INT64_MAX, UploadedFile, error_responses
from parley.chat.v1 import chat_pb2 as pb

router = APIRouter(tags=["files"], responses=error_responses(400, 401, 403, 404, 422, 500, 503, 504))

RoomId = Annotated[int, Path(gt=0, le=INT64_MAX, description="A room id", json_schema_extra=INT64_FORMAT)]
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_TOO_LARGE = {"description": "Over the size limit (code file_too_large), said at once when Content-Length is"}
_NOT_ALLOWED = {"description": "Its type, sniffed from the bytes, is not allowed (code file_type_not_allowed)"}


@router.post(
    "/rooms/{room_id}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadedFile,
    summary="Upload a file into a room",
    responses={413: {**_TOO_LARGE, **error_responses(413)[413]}, 415: {**_NOT_ALLOWED, **error_responses(415)[415]}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file's bytes, as they are (not multipart); Content-Type: the type it claims",
            "content": {"application/octet-stream": _BINARY, "*/*": _BINARY},
        }
    },
)
async def upload(
    room_id: RoomId,
    request: Request,
    backends: BackendsDep,
    caller: CallerDep,
    name: Annotated[
        str,
        Query(
            min_length=1,
            max_length=rules.FILE_NAME_MAX,
            description=(
                f"The file's name, 1-{rules.FILE_NAME_MAX} characters; a path is cut to its last part and control"
                ' characters are removed (a name with nothing left is called "file")'
            ),
        ),
    ],
) -> dict[str, Any]:
    """Streams the body into chat_svc (64 KiB at a time), which sniffs its type, hashes it and, for an image,
    measures it and makes a thumbnail. The file is the caller's to attach to their next message in the room
    (file_ids of POST /rooms/{room_id}/messages or a WebSocket send); unattached, it is removed after a day."""
    claimed = request.headers.get("content-type", "")
    length = request.headers.get("content-length", "")
    start = pb.UploadStart(
        room_id=room_id, name=name, content_type=claimed, size=int(length) if length.isdigit() else 0
    )
    call = backends.chat.UploadFile(  # type: ignore[call-arg]  # no iterator: written as the body arrives
        metadata=caller.metadata, timeout=backends.settings.file_timeout_seconds
    )
    reply = await files.upload(call, start, request.stream())
    return {"file": convert.file_json(reply.file)}


@router.get(
    "/files/{file_id}",
    summary="Download a file",
    response_class=StreamingResponse,
    responses={200: {"description": "The bytes, with the file's sniffed type", "content": {"*/*": _BINARY}}},
)
async def download(
    backends: BackendsDep,
    caller: CallerDep,
    file_id: Annotated[str, Path(max_length=64, description="A file id")],
    thumbnail: Annotated[bool, Query(description="The thumbnail (a small WebP) instead; 404 when it has none")] = False,
) -> StreamingResponse:
    """404 for a file of a room the caller is not in, of a deleted message, or an unknown id. Served with
    X-Content-Type-Options: nosniff, inline only for raster images, and cacheable privately forever."""
    call = backends.chat.DownloadFile(
        pb.DownloadFileRequest(file_id=file_id, thumbnail=thumbnail),
        metadata=caller.metadata,
        timeout=backends.settings.file_timeout_seconds,
    )
    first: Any = await call.read()  # the `file` part, or the call's error (raised)
    if first is grpc.aio.EOF or not first.HasField("file"):  # type: ignore[attr-defined]
        call.cancel()
        raise ApiError(grpc.StatusCode.NOT_FOUND, f"no file {file_id!r}")
    headers = files.download_headers(first.file, thumbnail)
    return StreamingResponse(files.body(call), headers=headers, media_type=first.file.content_type)
