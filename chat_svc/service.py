"""The service layer's face for the servicer: each RPC's work, awaitable, in domain values.

The rules live in the concept modules (rooms, membership, messages, history, reads, activity,
streams), which block on chat_db and run here on the Database's worker threads. What is decided
here is only what spans them: the order of the checks that ask auth_svc (local checks first, then
the directory, then the write) and the send rate limit before a send is queued.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import Future
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime

from chat_svc import mentions, rules
from chat_svc.activity import Typing
from chat_svc.blobs import Blobs, make_store, thumbnail_key
from chat_svc.blocks import Blocks
from chat_svc.directory import UserDirectory
from chat_svc.domain import (
    Blocked,
    Caller,
    Cursor,
    File,
    Invitation,
    Member,
    Message,
    MyRoom,
    Room,
    Send,
    SendResult,
    Sent,
)
from chat_svc.events import EventHub
from chat_svc.files import Files
from chat_svc.history import History
from chat_svc.invitations import Invitations, Limits
from chat_svc.locks import RoomLocks
from chat_svc.membership import Membership
from chat_svc.messages import Messages
from chat_svc.moderation import Moderation
from chat_svc.notifications import Notifications
from chat_svc.operator import Operator
from chat_svc.publisher import Publish, Publisher
from chat_svc.reactions import Reactions
from chat_svc.reads import Reads
from chat_svc.repository import Wanted
from chat_svc.rooms import Rooms
from chat_svc.search import Hit, Search
from chat_svc.sends import SendBatcher
from chat_svc.settings import ChatSettings
from chat_svc.streams import EventStreams
from chat_svc.sweeper import FileSweeper
from chat_svc.uploads import Accepted, Uploads, UploadStart
from common.db import Database
from common.errors import NotFound, ServiceError
from common.tokens import Principal
from parley.chat.v1 import chat_pb2 as pb

log = logging.getLogger(__name__)


class Chat:
    """Rooms, members, messages and event streams over one chat_db, wired once."""

    def __init__(
        self,
        db: Database,
        hub: EventHub,
        publish: Publish,
        directory: UserDirectory,
        settings: ChatSettings,
        blobs: Blobs | None = None,
    ) -> None:
        self.db = db
        self._run = db.run
        self._directory = directory
        publisher, locks = Publisher(publish), RoomLocks()
        limits = Limits(
            settings.max_rooms_per_user, settings.max_pending_invitations, settings.max_invitations_per_inviter
        )
        self.rooms = Rooms(db, publisher, locks, limits)
        self.membership = Membership(db, publisher, locks, limits.max_rooms)
        self.invitations = Invitations(db, publisher, locks, limits)
        self.blocks = Blocks(db, publisher)
        self.messages = Messages(db, publisher, locks, settings.max_message_chars)
        self.history = History(db)
        self.reads = Reads(db, publisher)
        self.notifications = Notifications(db, publisher)
        self.activity = Typing(self.membership, publisher, settings.typing_ttl_seconds)
        self.sends = SendBatcher(self.messages, db, settings.send_batch_max, settings.send_lanes)
        self.streams = EventStreams(
            hub,
            self.membership,
            self.history,
            db,
            settings.replay_page,
            settings.stream_batch_events,
            settings.replay_max_messages,
        )
        # -- reactions and moderation
        self.reactions = Reactions(db, publisher, locks)
        self.moderation = Moderation(db, publisher, locks)
        # -- operators (ModerationService): the same locks and publisher, so their changes order alike
        self.operator = Operator(db, hub, publisher, locks, self.history)
        # -- files
        self.blobs = blobs or Blobs(make_store(settings), settings.file_threads)
        self.files = Files(db)
        self.uploads = Uploads(
            db, self.files, self.blobs, settings.file_max_bytes, frozenset(settings.file_types),
            settings.thumbnail_pixels,
        )  # fmt: skip
        self.sweeper = FileSweeper(db, self.files, self.blobs, settings.file_grace_seconds, settings.file_sweep_seconds)
        # -- search
        self.search = Search(db)

    # -- rooms and membership ---------------------------------------------------------------------

    async def create_room(self, caller: Caller, kind: int, name: str, topic: str, member_ids: Sequence[int]) -> Room:
        """A new room owned by the caller; its other members must exist (auth_svc says)."""
        others = rules.invitees(member_ids, caller.user_id)  # checked before asking auth_svc about them
        await self._directory.require_users(others, caller.token, caller.timeout())
        # a new room each time: not retried after a failure mid-transaction (common/retry.py)
        return await self.db.run_once(self.rooms.create, caller.user_id, kind, name, topic, others)

    async def open_direct(self, caller: Caller, other_id: int) -> tuple[Room, bool]:
        """The direct room of the caller and another existing user; and whether it was created now."""
        await self._directory.require_users(
            [rules.direct_peer(other_id, caller.user_id)], caller.token, caller.timeout()
        )
        return await self._run(self.rooms.open_direct, caller.user_id, other_id)

    async def invite(self, caller: Caller, room_id: int, invitee_id: int) -> Invitation | None:
        """Invite an existing user to a room (None: a member already); a member may, and auth_svc is asked then."""
        await self._run(self.membership.require_member, caller.user_id, room_id)
        await self._directory.require_users([invitee_id], caller.token, caller.timeout())
        return await self._run(self.invitations.invite, caller.user_id, room_id, invitee_id)

    async def invitations_of(self, user_id: int) -> list[Invitation]:
        """The caller's pending invitations."""
        return await self._run(self.invitations.pending, user_id)

    async def accept(self, user_id: int, room_id: int) -> Room:
        """Accept an invitation."""
        return await self._run(self.invitations.accept, user_id, room_id)

    async def decline(self, user_id: int, room_id: int) -> None:
        """Decline an invitation."""
        await self._run(self.invitations.decline, user_id, room_id)

    async def block(self, caller: Caller, other_id: int) -> None:
        """Block an existing user."""
        if other_id > 0 and other_id != caller.user_id:  # bad ids are refused by the rule, without asking auth_svc
            await self._directory.require_users([other_id], caller.token, caller.timeout())
        await self._run(self.blocks.block, caller.user_id, other_id)

    async def unblock(self, user_id: int, other_id: int) -> None:
        """Unblock a user."""
        await self._run(self.blocks.unblock, user_id, other_id)

    async def blocked(self, user_id: int) -> list[Blocked]:
        """Whom the caller blocked."""
        return await self._run(self.blocks.list_blocked, user_id)

    async def get_room(self, user_id: int, room_id: int) -> Room:
        """A room the caller may see."""
        return await self._run(self.rooms.get, user_id, room_id)

    async def list_my_rooms(self, user_id: int, after_room_id: int, limit: int) -> tuple[list[MyRoom], bool]:
        """A page of the caller's rooms, by ascending id."""
        return await self._run(self.rooms.list_mine, user_id, after_room_id, limit)

    async def list_public(self, query: str, after_room_id: int, limit: int) -> tuple[list[Room], bool]:
        """A page of public channels."""
        return await self._run(self.rooms.list_public, query, after_room_id, limit)

    async def join(self, user_id: int, room_id: int) -> Room:
        """Join a public channel."""
        return await self._run(self.membership.join, user_id, room_id)

    async def leave(self, user_id: int, room_id: int) -> None:
        """Leave a room."""
        await self._run(self.membership.leave, user_id, room_id)

    async def list_members(
        self, user_id: int, room_id: int, after_user_id: int, limit: int
    ) -> tuple[list[Member], bool]:
        """A page of a room's members."""
        return await self._run(self.membership.list_members, user_id, room_id, after_user_id, limit)

    # -- messages ---------------------------------------------------------------------------------

    async def send(
        self, caller: Caller, room_id: int, client_msg_id: str, body: str, thread_root_seq: int = 0,
        also_in_room: bool = False, file_ids: Sequence[str] = (),
    ) -> Sent:  # fmt: skip
        """Store one message through group commit; its error raised."""
        result = await self.submit(caller, room_id, client_msg_id, body, thread_root_seq, also_in_room, file_ids)
        if isinstance(result, ServiceError):
            raise result
        return result

    def submit(
        self, caller: Caller, room_id: int, client_msg_id: str, body: str, thread_root_seq: int = 0,
        also_in_room: bool = False, file_ids: Sequence[str] = (),
    ) -> Future[SendResult]:  # fmt: skip
        """Queue one send (rate limit and input checked now); its future result.

        A body with an `@` has its mentions looked up first (auth_svc, with the sender's token), in
        its place in the queue.
        """
        send = self.messages.checked(
            caller.user_id, room_id, client_msg_id, body, thread_root_seq, also_in_room, file_ids
        )
        if "@" not in send.body:
            return self.sends.enqueue(send)
        return self.sends.enqueue(asyncio.ensure_future(self._mentioning(send, caller)), send.room_id)

    async def edit(self, caller: Caller, room_id: int, seq: int, body: str) -> Message:
        """Edit one's own message; its mentions are read again."""
        named, everyone = await self._resolve(mentions.parse(body), caller)
        edited = await self._run(self.messages.edit, caller.user_id, room_id, seq, body, named, everyone)
        return (await self._run(self.history.seen_by, caller.user_id, [edited]))[0]  # reactions: `me` for the editor

    # -- threads and mentions ---------------------------------------------------------------------

    async def _mentioning(self, send: Send, caller: Caller) -> Send:
        """The send with the users its body names (members or not: the store keeps members)."""
        named, everyone = await self._resolve(mentions.parse(send.body), caller)
        return replace(send, mentioned_user_ids=named, mentions_room=everyone)

    async def _resolve(self, found: mentions.Mentions, caller: Caller) -> tuple[tuple[int, ...], bool]:
        """(ids of the users named, ascending; whether @room) of parsed mentions."""
        if not found.usernames:
            return (), found.room
        ids = await self._directory.user_ids(found.usernames, caller.token, caller.timeout())
        return tuple(sorted(set(ids.values()))), found.room

    async def set_notification_level(self, user_id: int, room_id: int, level: int) -> int:
        """Set the caller's notification level of a room; the level in force (the default resolved)."""
        return await self._run(self.notifications.set_level, user_id, room_id, level)

    async def delete(self, user_id: int, room_id: int, seq: int) -> Message:
        """Delete one's own message (owners and moderators: anyone's)."""
        return await self._run(self.messages.delete, user_id, room_id, seq)

    async def list_messages(
        self, user_id: int, room_id: int, anchor_seq: int, forward: bool, limit: int, thread_root_seq: int = 0
    ) -> tuple[list[Message], bool]:
        """A page of a room's main timeline, or of one thread."""
        return await self._run(self.history.page, user_id, room_id, anchor_seq, forward, limit, thread_root_seq)

    async def mark_read(self, user_id: int, room_id: int, seq: int) -> tuple[int, int, int]:
        """Move the caller's read marker; (marker, unread, mentions)."""
        return await self._run(self.reads.mark_read, user_id, room_id, seq)

    async def typing(self, user_id: int, room_id: int) -> datetime:
        """Tell the room the caller is typing; when that expires."""
        return await self._run(self.activity.typing, user_id, room_id)

    # -- reactions and moderation -----------------------------------------------------------------

    async def react(self, user_id: int, room_id: int, seq: int, emoji: str, add: bool) -> tuple[Message, bool]:
        """Add or remove the caller's reaction; the message as they see it, and whether anything changed."""
        return await self._run(self.reactions.react, user_id, room_id, seq, emoji, add)

    async def update_room(
        self, user_id: int, room_id: int, name: str | None, topic: str | None, room_mentions: bool | None
    ) -> Room:
        """Change a room's name, topic or settings (the given ones)."""
        return await self._run(self.moderation.update_room, user_id, room_id, name, topic, room_mentions)

    async def set_role(self, user_id: int, room_id: int, member_id: int, role: int) -> Member:
        """Make a member a moderator or a plain member."""
        return await self._run(self.moderation.set_role, user_id, room_id, member_id, role)

    async def remove_member(self, user_id: int, room_id: int, member_id: int) -> None:
        """Remove another member from a room."""
        await self._run(self.moderation.remove, user_id, room_id, member_id)

    # -- files ------------------------------------------------------------------------------------

    async def upload(
        self, user_id: int, start: UploadStart, chunks: AsyncIterator[bytes], accepted: Accepted | None = None
    ) -> File:
        """Receive and store a file into a room (attached by the user's next send that names it)."""
        return await self.uploads.receive(user_id, start, chunks, accepted)

    async def download(self, user_id: int, file_id: str, thumbnail: bool) -> tuple[File, AsyncGenerator[bytes, None]]:
        """A file the user may read (for a thumbnail: its size and type in size/content_type), and its bytes."""
        file = await self._run(self.files.for_download, user_id, file_id)
        if thumbnail:
            if not file.thumbnail_size:
                raise NotFound(f"file {file_id} has no thumbnail")
            file = replace(file, size=file.thumbnail_size, content_type=file.thumbnail_type)
        return file, self._bytes(thumbnail_key(file.id) if thumbnail else file.id)

    async def _bytes(self, key: str) -> AsyncGenerator[bytes, None]:
        try:
            async for block in self.blobs.chunks(key):
                yield block
        except FileNotFoundError as exc:  # the row says it is there: the store lost it
            log.error("blob %s is missing from the store", key)
            raise NotFound("this file's bytes are missing from the store") from exc

    # -- search -----------------------------------------------------------------------------------

    async def search_messages(self, wanted: Wanted, query: str, page_token: str, limit: int) -> tuple[list[Hit], str]:
        """A page of the caller's messages with the query's words, newest first; the next page's token."""
        return await self._run(self.search.find, wanted, query, page_token, limit)

    # -- events -----------------------------------------------------------------------------------

    def stream(
        self, principal: Principal, all_rooms: bool, cursors: Sequence[Cursor]
    ) -> AsyncGenerator[list[pb.Event] | None, None]:
        """Replay, then None (caught up), then live events: see streams.EventStreams.open."""
        return self.streams.open(principal, all_rooms, cursors)

    async def messages_after(self, room_id: int, after_seq: int, limit: int) -> list[Message]:
        """Up to limit messages after after_seq, ascending (the broker feed's gap fill)."""
        return await self._run(self.history.after, room_id, after_seq, limit)

    async def last_seqs(self, room_ids: Sequence[int]) -> dict[int, int]:
        """The newest seq of each room (the broker feed's sweep)."""
        return await self._run(self.history.last_seqs, room_ids)
