// Resume bookkeeping, with no I/O: the highest seq and change seen per room, duplicate and gap
// detection for message frames, and the cursors to send in the auth frame after a reconnect.
//
// Delivery is at-least-once, so a message frame may come twice: drop it by (room_id, seq). A seq
// that jumps past last+1 is a gap (fetch ?after=last to fill it). Edits, deletes and reactions count
// by `change`; while a replay runs, its changes are only committed at caught_up, because the server
// replays new messages before missed edits and a cut-off replay must not skip those edits.

import type { Cursor, Message } from "../types";

export type Observation = "new" | "duplicate" | "gap";

interface RoomCursor {
  /** Every seq up to this one has been seen (since tracking began). */
  contiguous: number;
  /** Seqs seen above `contiguous` (they arrived after a gap). */
  ahead: Set<number>;
  change: number;
}

export class CursorBook {
  private readonly rooms = new Map<number, RoomCursor>();
  private replaying = false;
  private staged = new Map<number, number>();

  /** Start tracking a room from what the server says it holds (no-op if tracked already). */
  track(roomId: number, lastSeq: number, lastChange: number): void {
    if (!this.rooms.has(roomId)) {
      this.rooms.set(roomId, { contiguous: lastSeq, ahead: new Set(), change: lastChange });
    }
  }

  forget(roomId: number): void {
    this.rooms.delete(roomId);
    this.staged.delete(roomId);
  }

  isTracked(roomId: number): boolean {
    return this.rooms.has(roomId);
  }

  /** The newest seq such that nothing before it is missing. */
  lastSeq(roomId: number): number {
    return this.rooms.get(roomId)?.contiguous ?? 0;
  }

  /** A `replay_started` frame: the replay resumes after afterSeq; what lies before is paged, not awaited. */
  skipTo(roomId: number, afterSeq: number): void {
    const room = this.rooms.get(roomId);
    if (!room || afterSeq <= room.contiguous) return;
    room.contiguous = afterSeq;
    for (const seq of room.ahead) if (seq <= afterSeq) room.ahead.delete(seq);
    while (room.ahead.delete(room.contiguous + 1)) room.contiguous += 1;
  }

  /** A `message` frame: is it new, already seen, or after a gap? (Records it either way.) */
  observeMessage(message: Message): Observation {
    const room = this.rooms.get(message.room_id);
    if (!room) {
      // Not tracked yet (e.g. a room joined a moment ago): track it from this message on.
      this.rooms.set(message.room_id, { contiguous: message.seq, ahead: new Set(), change: 0 });
      this.noteChange(message.room_id, message.change);
      return "new";
    }
    if (message.seq <= room.contiguous || room.ahead.has(message.seq)) return "duplicate";
    room.ahead.add(message.seq);
    while (room.ahead.delete(room.contiguous + 1)) room.contiguous += 1;
    this.noteChange(message.room_id, message.change);
    return room.ahead.size > 0 ? "gap" : "new";
  }

  /**
   * A change to a message (a `message_edited` / `message_updated` / `message_deleted` / `reaction`
   * frame, or a REST answer): false when the message held (`known`) has this change already.
   */
  observeChange(change: Pick<Message, "room_id" | "change">, known?: Pick<Message, "change">): boolean {
    if (known && known.change >= change.change) return false;
    this.noteChange(change.room_id, change.change);
    return true;
  }

  /** A change that is not a whole message (a `thread_updated` frame): counted for resume. */
  observeRoomChange(roomId: number, change: number): void {
    this.noteChange(roomId, change);
  }

  /**
   * A gap fill found nothing more in the main timeline: the seqs still missing are thread replies
   * (the main timeline does not list them; open threads reload), so stop waiting for them.
   */
  settle(roomId: number): void {
    const room = this.rooms.get(roomId);
    if (!room || room.ahead.size === 0) return;
    room.contiguous = Math.max(room.contiguous, ...room.ahead);
    room.ahead.clear();
  }

  /** The auth frame's cursors: where to resume in each tracked room. */
  cursors(): Cursor[] {
    return [...this.rooms.entries()]
      .sort(([a], [b]) => a - b)
      .map(([roomId, room]) => ({ room_id: roomId, after_seq: room.contiguous, after_change: room.change }));
  }

  /** Between ready and caught_up, changes are staged. */
  beginReplay(): void {
    this.replaying = true;
    this.staged = new Map();
  }

  /** caught_up: the replay is complete, commit its changes. */
  endReplay(): void {
    for (const [roomId, change] of this.staged) {
      const room = this.rooms.get(roomId);
      if (room && change > room.change) room.change = change;
    }
    this.staged = new Map();
    this.replaying = false;
  }

  /** The socket dropped mid-replay: forget the staged changes (they will be replayed again). */
  abortReplay(): void {
    this.staged = new Map();
    this.replaying = false;
  }

  private noteChange(roomId: number, change: number): void {
    if (this.replaying) {
      this.staged.set(roomId, Math.max(this.staged.get(roomId) ?? 0, change));
      return;
    }
    const room = this.rooms.get(roomId);
    if (room && change > room.change) room.change = change;
  }
}

/** Reconnect delay for the attempt-th retry (0-based): exponential, capped, with jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = 500, maxMs = 15_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export type CloseAction = "stop" | "reconnect" | "refresh" | "signin";

/** What to do when the socket closes with this code (docs/protocol.md, "Close codes"). */
export function closeAction(code: number): CloseAction {
  if (code === 4001 || code === 4004 || code === 4005) return "signin";
  if (code === 4003) return "refresh";
  return "reconnect";
}
