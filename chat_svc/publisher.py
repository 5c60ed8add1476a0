"""What the rules tell the event stream, said in domain values; convert.py makes the pb.Event of each.

Called on the database's worker threads, after the commit, under the room's lock (locks.py), so
a room's events leave in commit order. `publish` is the sink's publish_threadsafe: the hub's, or
the broker's (chat_svc/__init__.py draws the flow).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from chat_svc import convert
from chat_svc.domain import Invitation, InvitationState, Member, Message, Room
from chat_svc.threads import ThreadChange
from parley.chat.v1 import chat_pb2 as pb

Publish = Callable[[Sequence[pb.Event]], None]


class Publisher:
    """Builds the events of what happened and hands them to `publish`, in call order."""

    def __init__(self, publish: Publish) -> None:
        self._publish = publish

    def created(self, messages: Sequence[Message]) -> None:
        """New messages, and repeated sends' originals (published again: see messages.py)."""
        if messages:
            self._publish([convert.created_event(m) for m in messages])

    def changed(self, message: Message) -> None:
        """A message was edited or deleted."""
        self._publish([convert.changed_event(message)])

    def room_created(self, room: Room, members: Sequence[Member]) -> None:
        """A new room with its first members."""
        joined = [
            convert.member_event(
                room.id, m.user_id, m.role, True, 0 if m.user_id == room.created_by else room.created_by
            )
            for m in members
        ]
        self._publish([*joined, convert.room_event(room)])

    def joined(self, room_id: int, members: Sequence[Member], by_user_id: int = 0) -> None:
        """Users joined a room, or were added to it (by_user_id: who added them)."""
        self._publish([convert.member_event(room_id, m.user_id, m.role, True, by_user_id) for m in members])

    def invitation(self, invitation: Invitation, state: InvitationState) -> None:
        """An invitation was sent, accepted, declined or withdrawn (only the invitee's streams get it)."""
        self._publish([convert.invitation_event(invitation, state)])

    def entered(self, room_id: int, member: Member, accepted: Invitation | None) -> None:
        """A user joined a room, taking up an invitation (its inviter added them) or not."""
        if accepted is not None:
            self.invitation(accepted, InvitationState.ACCEPTED)
        self.joined(room_id, [member], by_user_id=0 if accepted is None else accepted.inviter_id)

    def left(self, room_id: int, member: Member) -> None:
        """A user left a room."""
        self._publish([convert.member_event(room_id, member.user_id, member.role, False)])

    def read(self, room_id: int, user_id: int, last_read_seq: int, unread: int = 0, mentions: int = 0) -> None:
        """A member's read marker moved forward, with what is left unread."""
        self._publish([convert.read_event(room_id, user_id, last_read_seq, unread, mentions)])

    def typing(self, room_id: int, user_id: int, expires_at: datetime) -> None:
        """A member is typing."""
        self._publish([convert.typing_event(room_id, user_id, expires_at)])

    def threads_updated(self, changes: Sequence[ThreadChange]) -> None:
        """Thread roots' summaries changed (after the created or deleted events of their replies)."""
        if changes:
            self._publish([convert.thread_event(c) for c in changes])

    def member_settings(self, room_id: int, user_id: int, notification_level: int) -> None:
        """A member's own settings changed (only that member's streams get it)."""
        self._publish([convert.member_settings_event(room_id, user_id, notification_level)])

    # -- reactions and moderation -----------------------------------------------------------------

    def reacted(self, message: Message, user_id: int, emoji: str, added: bool) -> None:
        """A user's reaction to a message was added or removed."""
        self._publish([convert.reaction_event(message, user_id, emoji, added)])

    def room_updated(self, room: Room) -> None:
        """A room's name, topic or settings changed."""
        self._publish([convert.room_event(room)])

    def role_changed(self, room_id: int, member: Member, by_user_id: int) -> None:
        """A member's role changed."""
        self._publish([convert.role_event(room_id, member, by_user_id)])

    def removed(self, room: Room, member: Member, by_user_id: int) -> None:
        """A member was removed from a room by another; the room's new state follows."""
        self._publish(
            [convert.member_event(room.id, member.user_id, member.role, False, by_user_id), convert.room_event(room)]
        )
