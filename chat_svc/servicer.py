"""ChatService over gRPC: authenticate the caller, translate protos (convert.py), await the service layer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from chat_svc import convert
from chat_svc.domain import Caller, SendResult
from chat_svc.service import Chat
from chat_svc.uploads import UploadStart
from common import tracing
from common.errors import InvalidArgument, NotFound, PermissionDenied, ServiceError, Unavailable
from common.limits import UPLOAD_LIMIT_KEY
from common.server import remaining
from common.timestamps import to_timestamp
from common.tokens import Principal, TokenVerifier, bearer_token
from parley.chat.v1 import chat_pb2 as pb, chat_pb2_grpc

log = logging.getLogger(__name__)

ONWARD_TIMEOUT = 5.0
Outcomes = asyncio.Queue[pb.SendOutcome | None]  # None: the stream's sends are all answered


class ChatServicer(chat_pb2_grpc.ChatServiceServicer):
    """Translates ChatService calls; `context` is a grpc.aio.ServicerContext."""

    def __init__(self, chat: Chat, verifier: TokenVerifier) -> None:
        self.chat = self._chat = chat
        self._verifier = self.verifier = verifier  # shared with ModerationServicer (chat_svc/server.py)
        self.revoked = verifier.revoked  # ended sessions (chat_svc/server.py feeds it)

    async def _principal(self, context: Any) -> Principal:
        return await self._verifier.verify(bearer_token(context.invocation_metadata()))

    async def _user(self, context: Any) -> int:
        return (await self._principal(context)).user_id

    async def _caller(self, context: Any) -> Caller:
        """The user, with their token and the deadline for the calls made on their behalf."""
        token = bearer_token(context.invocation_metadata())
        principal = await self._verifier.verify(token)
        return Caller(principal.user_id, token, time.monotonic() + remaining(context, ONWARD_TIMEOUT))

    # -- rooms ------------------------------------------------------------------------------------

    async def CreateRoom(self, request: pb.CreateRoomRequest, context: Any) -> pb.CreateRoomResponse:
        caller = await self._caller(context)
        room = await self._chat.create_room(caller, request.kind, request.name, request.topic, request.member_ids)
        return pb.CreateRoomResponse(room=convert.room_pb(room))

    async def OpenDirectRoom(self, request: pb.OpenDirectRoomRequest, context: Any) -> pb.OpenDirectRoomResponse:
        room, created = await self._chat.open_direct(await self._caller(context), request.user_id)
        return pb.OpenDirectRoomResponse(room=convert.room_pb(room), created=created)

    async def GetRoom(self, request: pb.GetRoomRequest, context: Any) -> pb.GetRoomResponse:
        room = await self._chat.get_room(await self._user(context), request.room_id)
        return pb.GetRoomResponse(room=convert.room_pb(room))

    async def ListMyRooms(self, request: pb.ListMyRoomsRequest, context: Any) -> pb.ListMyRoomsResponse:
        rooms, has_more = await self._chat.list_my_rooms(
            await self._user(context), request.after_room_id, request.limit
        )
        return pb.ListMyRoomsResponse(rooms=[convert.my_room_pb(r) for r in rooms], has_more=has_more)

    async def ListPublicRooms(self, request: pb.ListPublicRoomsRequest, context: Any) -> pb.ListPublicRoomsResponse:
        await self._user(context)
        rooms, has_more = await self._chat.list_public(request.query, request.after_room_id, request.limit)
        return pb.ListPublicRoomsResponse(rooms=[convert.room_pb(r) for r in rooms], has_more=has_more)

    async def JoinRoom(self, request: pb.JoinRoomRequest, context: Any) -> pb.JoinRoomResponse:
        room = await self._chat.join(await self._user(context), request.room_id)
        return pb.JoinRoomResponse(room=convert.room_pb(room))

    async def LeaveRoom(self, request: pb.LeaveRoomRequest, context: Any) -> pb.LeaveRoomResponse:
        await self._chat.leave(await self._user(context), request.room_id)
        return pb.LeaveRoomResponse()

    async def InviteMember(self, request: pb.InviteMemberRequest, context: Any) -> pb.InviteMemberResponse:
        invitation = await self._chat.invite(await self._caller(context), request.room_id, request.user_id)
        if invitation is None:
            return pb.InviteMemberResponse(already_member=True)
        return pb.InviteMemberResponse(invitation=convert.invitation_pb(invitation))

    async def ListInvitations(self, request: pb.ListInvitationsRequest, context: Any) -> pb.ListInvitationsResponse:
        invitations = await self._chat.invitations_of(await self._user(context))
        return pb.ListInvitationsResponse(invitations=[convert.invitation_pb(i) for i in invitations])

    async def AcceptInvitation(self, request: pb.AcceptInvitationRequest, context: Any) -> pb.AcceptInvitationResponse:
        room = await self._chat.accept(await self._user(context), request.room_id)
        return pb.AcceptInvitationResponse(room=convert.room_pb(room))

    async def DeclineInvitation(
        self, request: pb.DeclineInvitationRequest, context: Any
    ) -> pb.DeclineInvitationResponse:
        await self._chat.decline(await self._user(context), request.room_id)
        return pb.DeclineInvitationResponse()

    async def BlockUser(self, request: pb.BlockUserRequest, context: Any) -> pb.BlockUserResponse:
        await self._chat.block(await self._caller(context), request.user_id)
        return pb.BlockUserResponse()

    async def UnblockUser(self, request: pb.UnblockUserRequest, context: Any) -> pb.UnblockUserResponse:
        await self._chat.unblock(await self._user(context), request.user_id)
        return pb.UnblockUserResponse()

    async def ListBlockedUsers(self, request: pb.ListBlockedUsersRequest, context: Any) -> pb.ListBlockedUsersResponse:
        blocked = await self._chat.blocked(await self._user(context))
        return pb.ListBlockedUsersResponse(users=[convert.blocked_pb(b) for b in blocked])

    async def ListMembers(self, request: pb.ListMembersRequest, context: Any) -> pb.ListMembersResponse:
        user_id = await self._user(context)
        members, has_more = await self._chat.list_members(
            user_id, request.room_id, request.after_user_id, request.limit
        )
        return pb.ListMembersResponse(members=[convert.member_pb(m) for m in members], has_more=has_more)

    # -- messages ---------------------------------------------------------------------------------

    async def SendMessage(self, request: pb.SendMessageRequest, context: Any) -> pb.SendMessageResponse:
        caller = await self._caller(context)
        sent = await self._chat.send(
            caller, request.room_id, request.client_msg_id, request.body, request.thread_root_seq,
            request.also_in_room, request.file_ids,
        )  # fmt: skip
        return pb.SendMessageResponse(message=convert.message_pb(sent.message), duplicate=sent.duplicate)

    async def SendMessages(
        self, requests: AsyncIterator[pb.SendMessagesRequest], context: Any
    ) -> AsyncIterator[pb.SendMessagesResponse]:
        if not (await self._principal(context)).is_service:
            raise PermissionDenied("SendMessages needs a service token; users call SendMessage")
        outcomes: Outcomes = asyncio.Queue()
        reader = asyncio.create_task(self._read_sends(requests, outcomes))
        try:
            while (first := await outcomes.get()) is not None:
                yield pb.SendMessagesResponse(outcomes=_with_ready(first, outcomes))
            await reader  # raises what the reader met
        finally:
            reader.cancel()

    async def _read_sends(self, requests: AsyncIterator[pb.SendMessagesRequest], outcomes: Outcomes) -> None:
        """Check and queue each item in arrival order (so each user's sends keep their order)."""
        waiting: set[asyncio.Future[SendResult]] = set()
        async for request in requests:
            for item in request.items:
                try:
                    # The item's own trace (the stream is not traced): the group commit links to it.
                    with tracing.context_from(item.traceparent):
                        user = await self._verifier.verify(item.access_token)
                        caller = Caller(user.user_id, item.access_token, time.monotonic() + ONWARD_TIMEOUT)
                        send = item.send
                        future = self._chat.submit(
                            caller, send.room_id, send.client_msg_id, send.body, send.thread_root_seq,
                            send.also_in_room, send.file_ids,
                        )  # fmt: skip
                except ServiceError as error:
                    outcomes.put_nowait(convert.outcome_pb(item.ref, error))
                    continue
                waiting.add(future)
                # A callback, not a task per send: this runs once per message.
                future.add_done_callback(functools.partial(_answer, item.ref, outcomes, waiting))
        if waiting:  # the client closed its side: answer what is in flight, then end
            await asyncio.wait(set(waiting))
        outcomes.put_nowait(None)

    async def EditMessage(self, request: pb.EditMessageRequest, context: Any) -> pb.EditMessageResponse:
        message = await self._chat.edit(await self._caller(context), request.room_id, request.seq, request.body)
        return pb.EditMessageResponse(message=convert.message_pb(message))

    async def DeleteMessage(self, request: pb.DeleteMessageRequest, context: Any) -> pb.DeleteMessageResponse:
        message = await self._chat.delete(await self._user(context), request.room_id, request.seq)
        return pb.DeleteMessageResponse(message=convert.message_pb(message))

    async def ListMessages(self, request: pb.ListMessagesRequest, context: Any) -> pb.ListMessagesResponse:
        user_id = await self._user(context)
        forward = request.direction == pb.DIRECTION_FORWARD  # UNSPECIFIED means BACKWARD
        messages, has_more = await self._chat.list_messages(
            user_id, request.room_id, request.anchor_seq, forward, request.limit, request.thread_root_seq
        )
        return pb.ListMessagesResponse(messages=[convert.message_pb(m) for m in messages], has_more=has_more)

    async def MarkRead(self, request: pb.MarkReadRequest, context: Any) -> pb.MarkReadResponse:
        marker, unread, mentions = await self._chat.mark_read(await self._user(context), request.room_id, request.seq)
        return pb.MarkReadResponse(last_read_seq=marker, unread_count=unread, mention_count=mentions)

    # -- threads and mentions ---------------------------------------------------------------------

    async def SetNotificationLevel(
        self, request: pb.SetNotificationLevelRequest, context: Any
    ) -> pb.SetNotificationLevelResponse:
        level = await self._chat.set_notification_level(await self._user(context), request.room_id, request.level)
        return pb.SetNotificationLevelResponse(level=level)  # type: ignore[arg-type]

    async def SendTyping(self, request: pb.SendTypingRequest, context: Any) -> pb.SendTypingResponse:
        expires = await self._chat.typing(await self._user(context), request.room_id)
        return pb.SendTypingResponse(expires_at=to_timestamp(expires))

    # -- reactions and moderation -----------------------------------------------------------------

    async def React(self, request: pb.ReactRequest, context: Any) -> pb.ReactResponse:
        message, changed = await self._chat.react(
            await self._user(context), request.room_id, request.seq, request.emoji, request.add
        )
        return pb.ReactResponse(message=convert.message_pb(message), changed=changed)

    async def UpdateRoom(self, request: pb.UpdateRoomRequest, context: Any) -> pb.UpdateRoomResponse:
        room = await self._chat.update_room(
            await self._user(context),
            request.room_id,
            request.name if request.HasField("name") else None,
            request.topic if request.HasField("topic") else None,
            request.room_mentions if request.HasField("room_mentions") else None,
        )
        return pb.UpdateRoomResponse(room=convert.room_pb(room))

    async def SetMemberRole(self, request: pb.SetMemberRoleRequest, context: Any) -> pb.SetMemberRoleResponse:
        member = await self._chat.set_role(await self._user(context), request.room_id, request.user_id, request.role)
        return pb.SetMemberRoleResponse(member=convert.member_pb(member))

    async def RemoveMember(self, request: pb.RemoveMemberRequest, context: Any) -> pb.RemoveMemberResponse:
        await self._chat.remove_member(await self._user(context), request.room_id, request.user_id)
        return pb.RemoveMemberResponse()

    # -- search and files (being built: issue 13) -----------------------------------------------

    async def SearchMessages(self, request: pb.SearchMessagesRequest, context: Any) -> pb.SearchMessagesResponse:
        wanted = convert.wanted(request, await self._user(context))
        hits, next_token = await self._chat.search_messages(wanted, request.query, request.page_token, request.limit)
        return pb.SearchMessagesResponse(hits=[convert.hit_pb(h) for h in hits], next_page_token=next_token)

    async def UploadFile(self, requests: AsyncIterator[pb.UploadFileRequest], context: Any) -> pb.UploadFileResponse:
        user_id = await self._user(context)
        parts = aiter(requests)
        first = await anext(parts, None)
        if first is None or not first.HasField("start"):
            raise InvalidArgument("the first message of UploadFile must carry `start`")
        s = first.start
        start = UploadStart(s.room_id, s.name, s.content_type, s.size)

        async def accepted(max_bytes: int) -> None:
            # The go-ahead, as initial metadata: a client sends bytes only after it, and none past the
            # first chunk that crosses the limit, so that a refusal reaches it intact (grpc/grpc#36066:
            # a write that fails as the call ends replaces the server's status with INTERNAL).
            await context.send_initial_metadata(((UPLOAD_LIMIT_KEY, str(max_bytes)),))

        file = await self._chat.upload(user_id, start, _chunks(parts), accepted)
        return pb.UploadFileResponse(file=convert.file_pb(file))

    async def DownloadFile(
        self, request: pb.DownloadFileRequest, context: Any
    ) -> AsyncIterator[pb.DownloadFileResponse]:
        file, chunks = await self._chat.download(await self._user(context), request.file_id, request.thumbnail)
        async with contextlib.aclosing(chunks) as blocks:
            first = await anext(blocks, None)  # the bytes are there before `file` says so
            if first is None:
                raise NotFound(f"the bytes of file {file.id} are missing")
            yield pb.DownloadFileResponse(file=convert.file_pb(file))
            yield pb.DownloadFileResponse(chunk=first)
            async for block in blocks:
                yield pb.DownloadFileResponse(chunk=block)

    # -- events -----------------------------------------------------------------------------------

    async def StreamEvents(
        self, request: pb.StreamEventsRequest, context: Any
    ) -> AsyncIterator[pb.StreamEventsResponse]:
        principal = await self._principal(context)
        stream = self._chat.stream(principal, request.all_rooms, convert.cursors(request.cursors))
        async with contextlib.aclosing(stream) as batches:
            async for events in batches:
                if events is None:
                    yield pb.StreamEventsResponse(caught_up=True)
                else:
                    yield pb.StreamEventsResponse(events=events)


async def _chunks(parts: AsyncIterator[pb.UploadFileRequest]) -> AsyncIterator[bytes]:
    """The bytes of an upload after its start."""
    async for part in parts:
        if part.HasField("start"):
            raise InvalidArgument("`start` comes once, first; then only chunks")
        yield part.chunk


def _answer(
    ref: int, outcomes: Outcomes, waiting: set[asyncio.Future[SendResult]], future: asyncio.Future[SendResult]
) -> None:
    waiting.discard(future)
    if future.cancelled():
        return
    error = future.exception()
    if isinstance(error, ServiceError):  # e.g. the database stayed down past the retries: said already
        outcomes.put_nowait(convert.outcome_pb(ref, error))
    elif error is not None:  # a bug: logged, and the sender told to retry
        log.error("a send of SendMessages failed", exc_info=error)
        outcomes.put_nowait(convert.outcome_pb(ref, Unavailable("could not store the message; retry it")))
    else:
        outcomes.put_nowait(convert.outcome_pb(ref, future.result()))


def _with_ready(first: pb.SendOutcome, outcomes: Outcomes) -> list[pb.SendOutcome]:
    """`first` and every outcome already queued behind it: one response for them all."""
    batch = [first]
    while not outcomes.empty():
        following = outcomes.get_nowait()
        if following is None:
            outcomes.put_nowait(None)  # the end stays queued for the next read
            break
        batch.append(following)
    return batch
