// A room's messages as shown: ascending seq, one entry per seq, the newest version of each.

import type { Message } from "./types";

/** Merge incoming messages into a sorted list: dedupe by seq, keep the higher `change`. */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const bySeq = new Map<number, Message>();
  for (const message of existing) bySeq.set(message.seq, message);
  let changed = false;
  for (const message of incoming) {
    const known = bySeq.get(message.seq);
    if (!known || message.change > known.change) {
      bySeq.set(message.seq, message);
      changed = true;
    }
  }
  if (!changed) return existing as Message[];
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * Whether a message belongs in its room's main timeline: not a reply, or a reply also sent to the
 * room (docs/conversations.md). Other replies show only in their thread and the root's summary.
 */
export function inMainTimeline(message: Message): boolean {
  return message.thread_root_seq === 0 || message.also_in_room;
}

/** The seq of the thread a message is shown in: its root's for a reply, its own otherwise. */
export function threadRootOf(message: Message): number {
  return message.thread_root_seq || message.seq;
}

/**
 * A root's new thread summary (a `thread_updated` frame) applied to a list holding the root; the
 * same list when it is not there or already as new (summaries are ordered by `change`).
 */
export function withSummary(
  messages: readonly Message[],
  rootSeq: number,
  change: number,
  thread: NonNullable<Message["thread"]>,
): Message[] {
  const index = messages.findIndex((m) => m.seq === rootSeq);
  const root = messages[index];
  if (!root || root.change >= change) return messages as Message[];
  const next = [...messages];
  next[index] = { ...root, change, thread };
  return next;
}
