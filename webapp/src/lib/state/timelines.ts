// Each room's messages as shown (ascending seq, one per seq, newest version of each), with the
// state of paging back through history and of filling a gap after a missed message.

import { applyReaction, keepMyReactions } from "../reactions";
import { mergeMessages } from "../timeline";
import type { Message } from "../types";
import type { Action } from "./actions";

export interface Timeline {
  messages: Message[];
  /** The newest page was fetched (before that only live messages are held). */
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  /** A gap after the last contiguous seq is being fetched. */
  fillingGap: boolean;
  error: string | null;
}

export type TimelinesState = Readonly<Record<number, Timeline>>;

export const EMPTY_TIMELINE: Timeline = {
  messages: [],
  loaded: false,
  hasOlder: true,
  loadingOlder: false,
  fillingGap: false,
  error: null,
};

function patch(state: TimelinesState, roomId: number, change: (t: Timeline) => Partial<Timeline>): TimelinesState {
  const current = state[roomId] ?? EMPTY_TIMELINE;
  return { ...state, [roomId]: { ...current, ...change(current) } };
}

/** Merge messages into a room's timeline; the same state when nothing new came. */
function merge(state: TimelinesState, roomId: number, messages: readonly Message[]): TimelinesState {
  const current = state[roomId];
  const merged = mergeMessages(current?.messages ?? [], messages);
  if (current && merged === current.messages) return state;
  return patch(state, roomId, () => ({ messages: merged }));
}

export function timelinesReducer(state: TimelinesState, action: Action): TimelinesState {
  switch (action.type) {
    case "message/received":
      return merge(state, action.message.room_id, [action.message]);
    case "message/changed": {
      const { message } = action;
      const held = action.shared ? findMessage(state, message.room_id, message.seq) : undefined;
      return merge(state, message.room_id, [held ? keepMyReactions(message, held) : message]);
    }
    case "message/reacted": {
      // Through merge like every change: a duplicate or stale frame (change not newer) changes nothing.
      const { reaction } = action;
      const held = findMessage(state, reaction.room_id, reaction.seq);
      return held ? merge(state, reaction.room_id, [applyReaction(held, reaction, action.mine)]) : state;
    }
    case "timeline/newest":
      return patch(state, action.roomId, (t) => ({
        messages: mergeMessages(t.messages, action.page.messages),
        loaded: true,
        hasOlder: action.page.has_more,
        error: null,
      }));
    case "timeline/olderRequested":
      return patch(state, action.roomId, () => ({ loadingOlder: true }));
    case "timeline/older":
      return patch(state, action.roomId, (t) => ({
        messages: mergeMessages(t.messages, action.page.messages),
        hasOlder: action.page.has_more,
        loadingOlder: false,
      }));
    case "timeline/noOlder":
      return patch(state, action.roomId, () => ({ hasOlder: false }));
    case "timeline/failed":
      return patch(state, action.roomId, () => ({ loadingOlder: false, error: action.error }));
    case "timeline/gapFill":
      return patch(state, action.roomId, () => ({ fillingGap: action.filling }));
    case "timeline/gapPage":
      return merge(state, action.roomId, action.messages);
    default:
      return state;
  }
}

/** The seq to page back from; "none" when nothing is older, null when not now (not loaded, or busy). */
export function olderCursor(timeline: Timeline | undefined): number | "none" | null {
  if (!timeline?.loaded || !timeline.hasOlder || timeline.loadingOlder) return null;
  const oldest = timeline.messages[0]?.seq;
  return oldest === undefined || oldest <= 1 ? "none" : oldest;
}

export function findMessage(state: TimelinesState, roomId: number, seq: number): Message | undefined {
  return state[roomId]?.messages.find((m) => m.seq === seq);
}
