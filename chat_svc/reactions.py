"""Reactions: a member adds or removes their emoji on a message (docs/conversations.md, "Reactions").

Blocking: runs on the Database's worker threads. The reactions table holds each (message, user,
emoji) at most once, so a retry finds its row and changes nothing (changed=False, no change number).
A real change updates the message's JSON aggregate and takes the room's next change number under
the room's lock (locks.py), as an edit does, then publishes ReactionChanged.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from chat_svc import access, models, repository, rules
from chat_svc.domain import Message, Reaction
from chat_svc.locks import RoomLocks
from chat_svc.publisher import Publisher
from common.db import Database
from common.errors import FailedPrecondition, NotFound, ResourceExhausted
from common.limits import REACTION_EMOJI_MAX, REACTION_USERS_SHOWN
from common.timestamps import utcnow


class Reactions:
    """Adds and removes reactions over one chat_db."""

    def __init__(self, db: Database, publisher: Publisher, locks: RoomLocks) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks

    def react(self, user_id: int, room_id: int, seq: int, raw_emoji: str, add: bool) -> tuple[Message, bool]:
        """Add (or remove) the caller's reaction; the message as the caller sees it, and whether it changed."""
        emoji = rules.reaction_emoji(raw_emoji)
        with self._locks.of(room_id):
            with self._db.sessions.begin() as s:
                row = _reactable(s, user_id, room_id, seq)
                key = (row.room_id, row.seq, user_id, emoji)
                present = s.get(models.Reaction, key) is not None
                if present == add:  # already there, or not there to remove: a retry
                    return repository.seen_by(s, user_id, repository.messages_of(s, [row]))[0], False
                before = repository.reactions_of(row.reactions)
                if add:
                    after = _added(before, emoji, user_id)
                    s.add(
                        models.Reaction(
                            room_id=row.room_id, seq=row.seq, user_id=user_id, emoji=emoji, created_at=utcnow()
                        )
                    )
                else:
                    s.delete(s.get_one(models.Reaction, key))
                    s.flush()
                    after = _removed(s, row, before, emoji, user_id)
                row.change, _ = repository.next_change(s, row.room_id)
                row.reactions = repository.reactions_json(after)
                s.flush()
                message = repository.messages_of(s, [row])[0]
                answer = repository.seen_by(s, user_id, [message])[0]
            self._publisher.reacted(message, user_id, emoji, add)
        return answer, True


def _reactable(s: Session, user_id: int, room_id: int, seq: int) -> models.Message:
    """A message that is not deleted, of a room the caller belongs to, locked for the change."""
    found, _ = access.member_room(s, room_id, user_id)
    access.require_open(found)
    row = s.get(models.Message, (found.id, seq), with_for_update=True)
    if row is None:
        raise NotFound(f"room {found.id} has no message {seq}")
    if row.deleted_at is not None:
        raise FailedPrecondition("a deleted message takes no reactions")
    return row


def _added(before: tuple[Reaction, ...], emoji: str, user_id: int) -> list[Reaction]:
    """The aggregate with one more user on an emoji; a new emoji goes last (order of first use)."""
    after: list[Reaction] = []
    for r in before:
        if r.emoji == emoji:
            shown = r.user_ids if len(r.user_ids) >= REACTION_USERS_SHOWN else (*r.user_ids, user_id)
            r = Reaction(r.emoji, r.count + 1, shown)
        after.append(r)
    if all(r.emoji != emoji for r in before):
        if len(before) >= REACTION_EMOJI_MAX:
            raise ResourceExhausted(
                f"a message takes at most {REACTION_EMOJI_MAX} different emoji; react with one already there"
            )
        after.append(Reaction(emoji, 1, (user_id,)))
    return after


def _removed(s: Session, row: models.Message, before: tuple[Reaction, ...], emoji: str, user_id: int) -> list[Reaction]:
    """The aggregate with one user less on an emoji (its reaction row already deleted)."""
    after: list[Reaction] = []
    for r in before:
        if r.emoji == emoji:
            if r.count <= 1:
                continue  # the last one: the emoji goes
            shown = r.user_ids
            if user_id in shown:  # refill the first users from the table, in the order they reacted
                shown = repository.first_reactors(s, row.room_id, row.seq, emoji, REACTION_USERS_SHOWN)
            r = Reaction(r.emoji, r.count - 1, shown)
        after.append(r)
    return after
