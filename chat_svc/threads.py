"""Thread summaries: what a root shows of its replies, and how a stored or deleted reply changes it.

No I/O: messages.py reads the roots under the room's locks, asks here for the new summaries, and
writes them back in the same transaction as the replies (docs/conversations.md: no count over the
thread). repository.py stores them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from chat_svc.domain import ThreadSummary
from common.limits import THREAD_PARTICIPANTS_SHOWN

EMPTY = ThreadSummary(0, 0, None, ())


@dataclass(frozen=True, slots=True)
class Root:
    """A thread's root as a send batch or a delete finds it: where it is and its summary now."""

    room_id: int
    seq: int
    thread_root_seq: int  # not 0 when the message named is itself a reply: its root is the real one
    summary: ThreadSummary


@dataclass(frozen=True, slots=True)
class ThreadChange:
    """A root's new summary, with the change number it took."""

    room_id: int
    root_seq: int
    change: int
    summary: ThreadSummary


def with_replies(summary: ThreadSummary, replies: Iterable[tuple[int, int]], at: datetime) -> ThreadSummary:
    """The summary after new replies (seq, sender id), in seq order, stored at `at`."""
    count, last, participants = summary.reply_count, summary.last_reply_seq, list(summary.participant_ids)
    for seq, sender_id in replies:
        count += 1
        last = max(last, seq)
        if sender_id in participants:
            participants.remove(sender_id)
        participants.insert(0, sender_id)  # the most recent replier first
    return ThreadSummary(count, last, at, tuple(participants[:THREAD_PARTICIPANTS_SHOWN]))


def without_reply(summary: ThreadSummary) -> ThreadSummary:
    """The summary after one of its replies was deleted: the count drops, the rest stays as it was."""
    return ThreadSummary(
        max(0, summary.reply_count - 1), summary.last_reply_seq, summary.last_reply_at, summary.participant_ids
    )


def shown(summary: ThreadSummary) -> ThreadSummary | None:
    """What a message carries: no summary for a message nobody ever replied to."""
    return summary if summary.last_reply_seq else None
