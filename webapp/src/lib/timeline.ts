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
