"""ModerationService over gRPC: each RPC checks its scope first (common/scopes.py), then translates
protos (convert.py) and awaits the operator's face (operator.py). Reads need admin:read, writes
admin:write; the actor of every write is the caller's Principal.actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from chat_svc import convert
from chat_svc.operator import Operator
from chat_svc.settings import ChatSettings
from common.scopes import requires, requires_stream
from common.tokens import ADMIN_READ, ADMIN_WRITE, Principal, TokenVerifier, bearer_token
from parley.audit.v1 import audit_pb2
from parley.chat.v1 import moderation_pb2 as pb, moderation_pb2_grpc


class ModerationServicer(moderation_pb2_grpc.ModerationServiceServicer):
    """Translates ModerationService calls; `context` is a grpc.aio.ServicerContext."""

    def __init__(self, operator: Operator, verifier: TokenVerifier, settings: ChatSettings) -> None:
        self._operator = operator
        self._verifier = verifier
        self._batch_events = settings.stream_batch_events

    async def principal(self, context: Any) -> Principal:
        """The verified caller (common.scopes.requires asks)."""
        return await self._verifier.verify(bearer_token(context.invocation_metadata()))

    # -- rooms ------------------------------------------------------------------------------------

    @requires(ADMIN_READ)
    async def FindRooms(self, principal: Principal, request: pb.FindRoomsRequest, context: Any) -> pb.FindRoomsResponse:
        rooms, token = await self._operator.find_rooms(
            request.name_prefix, request.room_ids, request.page_size, request.page_token
        )
        return pb.FindRoomsResponse(rooms=[convert.overview_pb(r) for r in rooms], next_page_token=token)

    @requires(ADMIN_READ)
    async def ListRoomMembers(
        self, principal: Principal, request: pb.ListRoomMembersRequest, context: Any
    ) -> pb.ListRoomMembersResponse:
        members, token = await self._operator.members(request.room_id, request.page_size, request.page_token)
        return pb.ListRoomMembersResponse(members=[convert.member_pb(m) for m in members], next_page_token=token)

    @requires(ADMIN_WRITE)
    async def ArchiveRoom(
        self, principal: Principal, request: pb.ArchiveRoomRequest, context: Any
    ) -> pb.ArchiveRoomResponse:
        room = await self._operator.archive(principal.actor, request.room_id, request.reason)
        return pb.ArchiveRoomResponse(room=convert.overview_pb(room))

    @requires(ADMIN_WRITE)
    async def RestoreRoom(
        self, principal: Principal, request: pb.RestoreRoomRequest, context: Any
    ) -> pb.RestoreRoomResponse:
        room = await self._operator.restore(principal.actor, request.room_id, request.reason)
        return pb.RestoreRoomResponse(room=convert.overview_pb(room))

    @requires(ADMIN_WRITE)
    async def RemoveRoomMember(
        self, principal: Principal, request: pb.RemoveRoomMemberRequest, context: Any
    ) -> pb.RemoveRoomMemberResponse:
        await self._operator.remove_member(principal.actor, request.room_id, request.user_id, request.reason)
        return pb.RemoveRoomMemberResponse()

    @requires(ADMIN_WRITE)
    async def TransferOwnership(
        self, principal: Principal, request: pb.TransferOwnershipRequest, context: Any
    ) -> pb.TransferOwnershipResponse:
        room = await self._operator.transfer_ownership(
            principal.actor, request.room_id, request.user_id, request.reason
        )
        return pb.TransferOwnershipResponse(room=convert.overview_pb(room))

    # -- messages ---------------------------------------------------------------------------------

    @requires(ADMIN_WRITE)
    async def TakeDownMessage(
        self, principal: Principal, request: pb.TakeDownMessageRequest, context: Any
    ) -> pb.TakeDownMessageResponse:
        message = await self._operator.take_down(principal.actor, request.room_id, request.seq, request.reason)
        return pb.TakeDownMessageResponse(message=convert.message_pb(message))

    @requires_stream(ADMIN_READ)
    async def ExportRoom(
        self, principal: Principal, request: pb.ExportRoomRequest, context: Any
    ) -> AsyncIterator[pb.ExportRoomResponse]:
        pages = self._operator.export_pages(request.room_id, request.after_seq)
        async with contextlib.aclosing(pages):  # type: ignore[type-var]  # an async generator
            async for page in pages:
                for message in page:
                    yield pb.ExportRoomResponse(message=convert.message_pb(message))

    # -- live -------------------------------------------------------------------------------------

    @requires_stream(ADMIN_READ)
    async def TailEvents(
        self, principal: Principal, request: pb.TailEventsRequest, context: Any
    ) -> AsyncIterator[pb.TailEventsResponse]:
        tail = self._operator.tail(request.room_ids, request.kinds)
        try:
            # Initial metadata says the tail is live: what happens from now on reaches this call.
            await context.send_initial_metadata(())
            async for events in tail.batches(self._batch_events):
                yield pb.TailEventsResponse(events=events)
        finally:
            tail.close()

    # -- audit ------------------------------------------------------------------------------------

    @requires(ADMIN_READ)
    async def ListAuditLog(
        self, principal: Principal, request: audit_pb2.ListAuditLogRequest, context: Any
    ) -> audit_pb2.ListAuditLogResponse:
        return await self._operator.audit_log(request)
