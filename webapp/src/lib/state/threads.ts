// The threads a reader has opened: each one's root and replies (ascending seq), paged back from the
// newest like a timeline. Live replies, edits and summary changes keep an opened thread current,
// open on screen or not, so opening it again shows it at once.

import { applyReaction, keepMyReactions } from "../reactions";
import { mergeMessages, threadRootOf, withSummary } from "../timeline";
import type { Message } from "../types";
import type { Action } from "./actions";
import { EMPTY_PAGED, newestPage, olderPage, type Paged } from "./timelines";

export type ThreadView = Paged;

export type ThreadsState = Readonly<Record<string, ThreadView>>;

/** Every key of a room's threads starts so. */
function roomPrefix(roomId: number): string {
  return `${roomId}:`;
}

export function threadKey(roomId: number, rootSeq: number): string {
  return `${roomPrefix(roomId)}${rootSeq}`;
}

/** The keys of a room's opened threads. */
function keysOf(state: ThreadsState, roomId: number): string[] {
  const prefix = roomPrefix(roomId);
  return Object.keys(state).filter((key) => key.startsWith(prefix));
}

/** The root seqs of a room's opened threads. */
export function openedRoots(state: ThreadsState, roomId: number): number[] {
  return keysOf(state, roomId).map((key) => Number(key.slice(roomPrefix(roomId).length)));
}

function patch(state: ThreadsState, key: string, change: (t: ThreadView) => Partial<ThreadView>): ThreadsState {
  const current = state[key] ?? EMPTY_PAGED;
  return { ...state, [key]: { ...current, ...change(current) } };
}

/** A message of an opened thread (a reply, or the root itself) merged into it. */
function merge(state: ThreadsState, message: Message): ThreadsState {
  const key = threadKey(message.room_id, threadRootOf(message));
  const current = state[key];
  if (!current) return state;
  const messages = mergeMessages(current.messages, [message]);
  return messages === current.messages ? state : { ...state, [key]: { ...current, messages } };
}

export function threadsReducer(state: ThreadsState, action: Action): ThreadsState {
  switch (action.type) {
    case "message/received":
      return merge(state, action.message);
    case "message/changed": {
      // As in timelines.ts: a shared frame keeps my reactions' `me` from the message held.
      const held = action.shared ? findHeld(state, action.message.room_id, action.message.seq) : undefined;
      return merge(state, held ? keepMyReactions(action.message, held) : action.message);
    }
    case "message/reacted": {
      const held = findHeld(state, action.reaction.room_id, action.reaction.seq);
      return held ? merge(state, applyReaction(held, action.reaction, action.mine)) : state;
    }
    case "thread/opened":
      return state[threadKey(action.roomId, action.rootSeq)] ? state : patch(state, threadKey(action.roomId, action.rootSeq), () => ({}));
    case "thread/newest":
      return patch(state, threadKey(action.roomId, action.rootSeq), (t) => newestPage(t, action.page));
    case "thread/olderRequested":
      return patch(state, threadKey(action.roomId, action.rootSeq), () => ({ loadingOlder: true }));
    case "thread/older":
      return patch(state, threadKey(action.roomId, action.rootSeq), (t) => olderPage(t, action.page));
    case "thread/failed":
      return patch(state, threadKey(action.roomId, action.rootSeq), () => ({ loadingOlder: false, error: action.error }));
    case "thread/summary": {
      const key = threadKey(action.roomId, action.rootSeq);
      const current = state[key];
      if (!current) return state;
      const messages = withSummary(current.messages, action.rootSeq, action.change, action.thread);
      return messages === current.messages ? state : { ...state, [key]: { ...current, messages } };
    }
    case "room/removed": {
      const gone = new Set(keysOf(state, action.roomId));
      return gone.size === 0 ? state : Object.fromEntries(Object.entries(state).filter(([key]) => !gone.has(key)));
    }
    default:
      return state;
  }
}

/** A message held in any opened thread of its room. */
export function findHeld(state: ThreadsState, roomId: number, seq: number): Message | undefined {
  for (const key of keysOf(state, roomId)) {
    const found = state[key]?.messages.find((m) => m.seq === seq);
    if (found) return found;
  }
  return undefined;
}

export function findThread(state: ThreadsState, roomId: number, rootSeq: number): ThreadView | undefined {
  return state[threadKey(roomId, rootSeq)];
}
