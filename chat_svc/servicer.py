"""ChatService over gRPC: authenticate, translate protos, call Chat on worker threads."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from chat_svc import rules
from chat_svc.directory import UserDirectory
from chat_svc.events import EventHub, EventSink
from chat_svc.limits import SendLimiter
from chat_svc.sends import SendBatcher
from chat_svc.service import Chat, SendResult
from chat_svc.settings import ChatSettings
from common.errors import InvalidArgument, PermissionDenied, ServiceError, Unavailable
from common.grpc_errors import status_for
from common.server import remaining
from common.timestamps import to_timestamp, utcnow
from common.tokens import Principal, TokenVerifier, bearer_token
from parley.chat.v1 import chat_pb2 as pb
from parley.chat.v1 import chat_pb2_grpc

log = logging.getLogger(__name__)

ONWARD_TIMEOUT = 5.0


def _outcome(ref: int, result: SendResult) -> pb.SendOutcome:
    if isinstance(result, ServiceError):
        code = status_for(result).value[0]
        return pb.SendOutcome(ref=ref, error_code=code, error_message=result.message)
    message, duplicate = result
    return pb.SendOutcome(ref=ref, sent=pb.SendMessageResponse(message=message, duplicate=duplicate))


MAX_CURSORS = 10_000


class ChatServicer(chat_pb2_grpc.ChatServiceServicer):
    """Translates ChatService calls; `context` is a grpc.aio.ServicerContext."""

    def __init__(
        self,
        chat: Chat,
        hub: EventHub,
        sink: EventSink,
        verifier: TokenVerifier,
        directory: UserDirectory,
        settings: ChatSettings,
    ) -> None:
        self.chat = self._chat = chat
        self._run = chat.db.run
        self._hub = hub  # streams subscribe here
        self._sink = sink  # events are published here: the hub itself, or the broker
        self._verifier = verifier
        self._directory = directory
        self._settings = settings
        self._limiter = SendLimiter(settings.send_rate_per_second, settings.send_burst)
        self._sends = SendBatcher(chat, settings.max_message_chars, settings.send_batch_max, settings.send_lanes)

    async def _caller(self, context: Any) -> tuple[Principal, str]:
        token = bearer_token(context.invocation_metadata())
        return await self._verifier.verify(token), token

    async def _user(self, context: Any) -> int:
        principal, _ = await self._caller(context)
        return principal.user_id

    # -- rooms ------------------------------------------------------------------------------------

    async def CreateRoom(self, request: pb.CreateRoomRequest, context: Any) -> pb.CreateRoomResponse:
        principal, token = await self._caller(context)
        user_id = principal.user_id
        others = rules.invitees(request.member_ids, user_id)  # checked before asking auth_svc about them
        await self._directory.require_users(others, token, remaining(context, ONWARD_TIMEOUT))
        room = await self._run(
            self._chat.create_room, user_id, request.kind, request.name, request.topic, list(request.member_ids)
        )
        return pb.CreateRoomResponse(room=room)

    async def OpenDirectRoom(self, request: pb.OpenDirectRoomRequest, context: Any) -> pb.OpenDirectRoomResponse:
        principal, token = await self._caller(context)
        if request.user_id <= 0 or request.user_id == principal.user_id:
            raise InvalidArgument("user_id must be another user's id")
        await self._directory.require_users([request.user_id], token, remaining(context, ONWARD_TIMEOUT))
        room, created = await self._run(self._chat.open_direct, principal.user_id, request.user_id)
        return pb.OpenDirectRoomResponse(room=room, created=created)

    async def GetRoom(self, request: pb.GetRoomRequest, context: Any) -> pb.GetRoomResponse:
        user_id = await self._user(context)
        return pb.GetRoomResponse(room=await self._run(self._chat.get_room, user_id, request.room_id))

    async def ListMyRooms(self, request: pb.ListMyRoomsRequest, context: Any) -> pb.ListMyRoomsResponse:
        user_id = await self._user(context)
        return pb.ListMyRoomsResponse(rooms=await self._run(self._chat.list_my_rooms, user_id))

    async def ListPublicRooms(self, request: pb.ListPublicRoomsRequest, context: Any) -> pb.ListPublicRoomsResponse:
        await self._user(context)
        rooms, has_more = await self._run(self._chat.list_public, request.query, request.after_room_id, request.limit)
        return pb.ListPublicRoomsResponse(rooms=rooms, has_more=has_more)

    async def JoinRoom(self, request: pb.JoinRoomRequest, context: Any) -> pb.JoinRoomResponse:
        user_id = await self._user(context)
        return pb.JoinRoomResponse(room=await self._run(self._chat.join, user_id, request.room_id))

    async def LeaveRoom(self, request: pb.LeaveRoomRequest, context: Any) -> pb.LeaveRoomResponse:
        user_id = await self._user(context)
        await self._run(self._chat.leave, user_id, request.room_id)
        return pb.LeaveRoomResponse()

    async def InviteMember(self, request: pb.InviteMemberRequest, context: Any) -> pb.InviteMemberResponse:
        principal, token = await self._caller(context)
        user_id = principal.user_id
        await self._run(self._chat.require_member, user_id, request.room_id)
        await self._directory.require_users([request.user_id], token, remaining(context, ONWARD_TIMEOUT))
        member = await self._run(self._chat.invite, user_id, request.room_id, request.user_id)
        return pb.InviteMemberResponse(member=member)

    async def ListMembers(self, request: pb.ListMembersRequest, context: Any) -> pb.ListMembersResponse:
        user_id = await self._user(context)
        members, has_more = await self._run(
            self._chat.list_members, user_id, request.room_id, request.after_user_id, request.limit
        )
        return pb.ListMembersResponse(members=members, has_more=has_more)

    # -- messages ---------------------------------------------------------------------------------

    async def SendMessage(self, request: pb.SendMessageRequest, context: Any) -> pb.SendMessageResponse:
        user_id = await self._user(context)
        self._limiter.take(user_id)
        message, duplicate = await self._sends.send(user_id, request.room_id, request.client_msg_id, request.body)
        return pb.SendMessageResponse(message=message, duplicate=duplicate)

    async def SendMessages(
        self, requests: AsyncIterator[pb.SendMessagesRequest], context: Any
    ) -> AsyncIterator[pb.SendMessagesResponse]:
        principal, _ = await self._caller(context)
        if not principal.is_service:
            raise PermissionDenied("SendMessages needs a service token; users call SendMessage")
        outcomes: asyncio.Queue[pb.SendOutcome | None] = asyncio.Queue()
        waiting: set[asyncio.Future[SendResult]] = set()

        def finish(ref: int, future: asyncio.Future[SendResult]) -> None:
            # A callback, not a task per send: this runs once per message.
            waiting.discard(future)
            if future.cancelled():
                return
            error = future.exception()
            if error is not None:  # the database failed: tell the sender to retry
                log.error("a send of SendMessages failed", exc_info=error)
                outcomes.put_nowait(_outcome(ref, Unavailable("could not store the message; retry it")))
            else:
                outcomes.put_nowait(_outcome(ref, future.result()))

        async def read() -> None:
            async for request in requests:
                for item in request.items:
                    # Checked and queued here, in arrival order, so each user's sends keep their order.
                    try:
                        user = await self._verifier.verify(item.access_token)
                        self._limiter.take(user.user_id)
                        send = item.send
                        future = self._sends.submit(user.user_id, send.room_id, send.client_msg_id, send.body)
                    except ServiceError as error:
                        outcomes.put_nowait(_outcome(item.ref, error))
                        continue
                    waiting.add(future)
                    future.add_done_callback(functools.partial(finish, item.ref))
            if waiting:  # the client closed its side: answer what is in flight, then end
                await asyncio.wait(set(waiting))
            outcomes.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (first := await outcomes.get()) is not None:
                batch = [first]
                while not outcomes.empty():
                    following = outcomes.get_nowait()
                    if following is None:
                        outcomes.put_nowait(None)
                        break
                    batch.append(following)
                yield pb.SendMessagesResponse(outcomes=batch)
            await reader  # raises what the reader met
        finally:
            reader.cancel()

    async def EditMessage(self, request: pb.EditMessageRequest, context: Any) -> pb.EditMessageResponse:
        user_id = await self._user(context)
        message = await self._run(self._chat.edit, user_id, request.room_id, request.seq, request.body)
        return pb.EditMessageResponse(message=message)

    async def DeleteMessage(self, request: pb.DeleteMessageRequest, context: Any) -> pb.DeleteMessageResponse:
        user_id = await self._user(context)
        message = await self._run(self._chat.delete, user_id, request.room_id, request.seq)
        return pb.DeleteMessageResponse(message=message)

    async def ListMessages(self, request: pb.ListMessagesRequest, context: Any) -> pb.ListMessagesResponse:
        user_id = await self._user(context)
        messages, has_more = await self._run(
            self._chat.list_messages, user_id, request.room_id, request.anchor_seq, request.direction, request.limit
        )
        return pb.ListMessagesResponse(messages=messages, has_more=has_more)

    async def MarkRead(self, request: pb.MarkReadRequest, context: Any) -> pb.MarkReadResponse:
        user_id = await self._user(context)
        marker, unread = await self._run(self._chat.mark_read, user_id, request.room_id, request.seq)
        return pb.MarkReadResponse(last_read_seq=marker, unread_count=unread)

    async def SendTyping(self, request: pb.SendTypingRequest, context: Any) -> pb.SendTypingResponse:
        user_id = await self._user(context)
        await self._run(self._chat.require_member, user_id, request.room_id)
        expires = to_timestamp(utcnow() + timedelta(seconds=self._settings.typing_ttl_seconds))
        self._sink.publish([pb.Event(room_id=request.room_id, typing=pb.Typing(user_id=user_id, expires_at=expires))])
        return pb.SendTypingResponse(expires_at=expires)

    # -- events -----------------------------------------------------------------------------------

    async def StreamEvents(
        self, request: pb.StreamEventsRequest, context: Any
    ) -> AsyncIterator[pb.StreamEventsResponse]:
        principal, _ = await self._caller(context)
        if len(request.cursors) > MAX_CURSORS:
            raise InvalidArgument(f"send at most {MAX_CURSORS} cursors")
        if request.all_rooms:
            if not principal.is_service:
                raise PermissionDenied("all_rooms needs a service token")
            subscription = self._hub.subscribe(None, None)
            log.info("all-rooms event stream opened for %s", principal.subject)  # one per gateway
        else:
            user_id = principal.user_id
            # Subscribe before reading the database, so that nothing falls between replay and live:
            # a room joined meanwhile is added by its membership event.
            subscription = self._hub.subscribe(user_id, ())
            try:
                rooms = await self._run(self._chat.member_room_ids, user_id)
                strangers = sorted({c.room_id for c in request.cursors} - rooms)
                if strangers:
                    raise PermissionDenied(f"you are not a member of room {strangers[0]}")
            except BaseException:
                self._hub.unsubscribe(subscription)
                raise
            subscription.follow(rooms)
        try:
            replayed: dict[int, int] = {}
            async for batch in self._replay(request.cursors, replayed):
                yield pb.StreamEventsResponse(events=batch)
            yield pb.StreamEventsResponse(caught_up=True)
            while True:
                events = await subscription.next_batch(self._settings.stream_batch_events)
                fresh = [
                    e
                    for e in events
                    if not (e.HasField("message_created") and e.message_created.seq <= replayed.get(e.room_id, 0))
                ]
                if fresh:
                    yield pb.StreamEventsResponse(events=fresh)
        finally:
            self._hub.unsubscribe(subscription)

    async def _replay(self, cursors: Any, replayed: dict[int, int]) -> AsyncIterator[list[pb.Event]]:
        """Missed messages after each cursor, then missed edits and deletes, page by page."""
        page = self._settings.replay_page
        unique = {c.room_id: c for c in reversed(cursors)}  # a room named twice: its first cursor
        for cursor in unique.values():
            after = max(cursor.after_seq, 0)
            # Only what is really replayed counts as sent: a cursor past the room's last seq must
            # not hide the live messages that follow.
            replayed[cursor.room_id] = 0
            while True:
                messages = await self._run(self._chat.messages_after, cursor.room_id, after, page)
                if messages:
                    after = replayed[cursor.room_id] = messages[-1].seq
                    yield [pb.Event(room_id=cursor.room_id, message_created=m) for m in messages]
                if len(messages) < page:
                    break
            change = cursor.after_change
            while change > 0:
                changed = await self._run(self._chat.changes_after, cursor.room_id, cursor.after_seq, change, page)
                if changed:
                    change = changed[-1].change
                    yield [
                        pb.Event(room_id=cursor.room_id, message_deleted=m)
                        if m.deleted
                        else pb.Event(room_id=cursor.room_id, message_edited=m)
                        for m in changed
                    ]
                if len(changed) < page:
                    break
