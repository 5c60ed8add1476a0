// My sends that the server has not confirmed yet, per room, oldest first. Each keeps its
// client_msg_id for its whole life, so a resend (after a reconnect, a reload, or from another tab)
// returns the stored original instead of a duplicate. A send leaves the outbox when its ack comes,
// or when the message itself shows up (a message frame, a history page): whichever is first.

import type { FileOut, Message } from "../types";
import type { Action } from "./actions";

export type PendingState = "sending" | "failed";

export interface PendingSend {
  clientMsgId: string;
  roomId: number;
  body: string;
  createdAt: string;
  state: PendingState;
  error?: string;
  /** A reply: its thread's root seq (absent or 0: the main timeline). */
  threadRootSeq?: number;
  /** A reply also shown in the main timeline. */
  alsoInRoom?: boolean;
  /** The uploaded files it carries (sent as file_ids; kept whole to show them while pending). */
  files?: FileOut[];
}

/** Where a send goes besides its room: a thread, and whether the main timeline shows it too. */
export interface Placement {
  threadRootSeq: number;
  alsoInRoom: boolean;
}

export const IN_ROOM: Placement = { threadRootSeq: 0, alsoInRoom: false };

/** Whether a pending send shows in the main timeline (`rootSeq` 0) or in that thread. */
export function pendingShownIn(item: PendingSend, rootSeq: number): boolean {
  const root = item.threadRootSeq ?? 0;
  return rootSeq === 0 ? root === 0 || item.alsoInRoom === true : root === rootSeq;
}

export type OutboxState = Readonly<Record<number, readonly PendingSend[]>>;

/** A client_msg_id: random, at most 64 characters (works outside secure contexts too). */
export function newClientMsgId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return "w-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function pendingSend(
  roomId: number,
  body: string,
  { threadRootSeq, alsoInRoom }: Placement = IN_ROOM,
  clientMsgId = newClientMsgId(),
  now = new Date(),
  files: readonly FileOut[] = [],
): PendingSend {
  const item: PendingSend = { clientMsgId, roomId, body, createdAt: now.toISOString(), state: "sending" };
  if (files.length > 0) item.files = [...files];
  return threadRootSeq > 0 ? { ...item, threadRootSeq, alsoInRoom } : item;
}

/** The ids of the files a pending send carries, for its send frame. */
export function pendingFileIds(item: PendingSend): string[] {
  return (item.files ?? []).map((file) => file.id);
}

function update(state: OutboxState, clientMsgId: string, change: (item: PendingSend) => PendingSend | null): OutboxState {
  for (const [roomId, items] of Object.entries(state)) {
    const index = items.findIndex((item) => item.clientMsgId === clientMsgId);
    if (index < 0) continue;
    const changed = change(items[index]!);
    const next = changed === null ? items.filter((_, i) => i !== index) : items.map((it, i) => (i === index ? changed : it));
    return { ...state, [roomId]: next };
  }
  return state;
}

/** Drop the sends these stored messages of mine confirm. */
function confirmedBy(state: OutboxState, messages: readonly Message[], me: number | undefined): OutboxState {
  let next = state;
  for (const message of messages) {
    if (message.sender_id !== me || !next[message.room_id]?.length) continue;
    next = update(next, message.client_msg_id, (item) => (item.roomId === message.room_id ? null : item));
  }
  return next;
}

function same(a: PendingSend, b: PendingSend): boolean {
  return a.clientMsgId === b.clientMsgId && a.state === b.state && a.error === b.error && a.body === b.body;
}

/** The persisted outbox, grouped by room; a room whose sends did not change keeps its list. */
function restored(state: OutboxState, items: readonly PendingSend[]): OutboxState {
  const byRoom: Record<number, PendingSend[]> = {};
  const sorted = [...items].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const item of sorted) (byRoom[item.roomId] ??= []).push(item);
  const next: Record<number, readonly PendingSend[]> = {};
  let changed = false;
  for (const roomId of new Set([...Object.keys(state), ...Object.keys(byRoom)].map(Number))) {
    const old = state[roomId] ?? [];
    const fresh = byRoom[roomId] ?? [];
    const kept = old.length === fresh.length && old.every((item, i) => same(item, fresh[i]!));
    next[roomId] = kept ? old : fresh;
    changed ||= !kept || state[roomId] === undefined;
  }
  return changed ? next : state;
}

/** `me` is the signed-in user's id: only my stored messages confirm my sends. */
export function outboxReducer(state: OutboxState, action: Action, me: number | undefined): OutboxState {
  switch (action.type) {
    case "outbox/queued": {
      const room = state[action.item.roomId] ?? [];
      if (room.some((item) => item.clientMsgId === action.item.clientMsgId)) return state;
      return { ...state, [action.item.roomId]: [...room, action.item] };
    }
    case "outbox/confirmed":
    case "outbox/discarded":
      return update(state, action.clientMsgId, () => null);
    case "outbox/failed":
      return update(state, action.clientMsgId, (item) => ({ ...item, state: "failed", error: action.error }));
    case "outbox/retried":
      return update(state, action.clientMsgId, (item) => ({ ...item, state: "sending", error: undefined }));
    case "outbox/restored":
      return restored(state, action.items);
    case "message/received":
      return confirmedBy(state, [action.message], me);
    case "timeline/newest":
    case "timeline/older":
    case "thread/newest":
    case "thread/older":
      return confirmedBy(state, action.page.messages, me);
    case "timeline/gapPage":
      return confirmedBy(state, action.messages, me);
    default:
      return state;
  }
}

/** Every pending send, oldest first. */
export function allPending(state: OutboxState): PendingSend[] {
  return Object.values(state)
    .flat()
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** What to (re)send once the socket is live again, oldest first (failed ones wait for Retry). */
export function toResend(state: OutboxState): PendingSend[] {
  return allPending(state).filter((item) => item.state === "sending");
}

export function findPending(state: OutboxState, clientMsgId: string): PendingSend | undefined {
  return allPending(state).find((item) => item.clientMsgId === clientMsgId);
}
