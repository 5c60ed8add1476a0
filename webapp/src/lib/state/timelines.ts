// Each room's main timeline as shown (ascending seq, one per seq, newest version of each), with the
// state of paging back through history and of filling a gap after a missed message. Threads page
// the same way (state/threads.ts), through the same Paged helpers.

import { applyReaction, keepMyReactions } from "../reactions";
import { inMainTimeline, mergeMessages, withSummary } from "../timeline";
import type { Message, MessagePage } from "../types";
import type { Action } from "./actions";

/** Messages paged back from the newest. */
export interface Paged {
  messages: Message[];
  /** The newest page was fetched (before that only live messages are held). */
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  error: string | null;
}

export interface Timeline extends Paged {
  /** A gap after the last contiguous seq is being fetched. */
  fillingGap: boolean;
}

export const EMPTY_PAGED: Paged = { messages: [], loaded: false, hasOlder: true, loadingOlder: false, error: null };

/** The newest page came: merged with what arrived live meanwhile. */
export function newestPage(current: Paged, page: MessagePage): Partial<Paged> {
  return { messages: mergeMessages(current.messages, page.messages), loaded: true, hasOlder: page.has_more, error: null };
}

/** An older page came. */
export function olderPage(current: Paged, page: MessagePage): Partial<Paged> {
  return { messages: mergeMessages(current.messages, page.messages), hasOlder: page.has_more, loadingOlder: false };
}

export type TimelinesState = Readonly<Record<number, Timeline>>;

export const EMPTY_TIMELINE: Timeline = { ...EMPTY_PAGED, fillingGap: false };

function patch(state: TimelinesState, roomId: number, change: (t: Timeline) => Partial<Timeline>): TimelinesState {
  const current = state[roomId] ?? EMPTY_TIMELINE;
  return { ...state, [roomId]: { ...current, ...change(current) } };
}

/**
 * Merge messages into a room's timeline; the same state when nothing new came. Replies that are
 * not also sent to the room stay out, unless the timeline holds them already (an edit of one).
 */
function merge(state: TimelinesState, roomId: number, messages: readonly Message[]): TimelinesState {
  const current = state[roomId];
  const held = current?.messages ?? [];
  const shown = messages.filter((m) => inMainTimeline(m) || held.some((h) => h.seq === m.seq));
  const merged = mergeMessages(held, shown);
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
      return patch(state, action.roomId, (t) => newestPage(t, action.page));
    case "timeline/olderRequested":
      return patch(state, action.roomId, () => ({ loadingOlder: true }));
    case "timeline/older":
      return patch(state, action.roomId, (t) => olderPage(t, action.page));
    case "timeline/noOlder":
      return patch(state, action.roomId, () => ({ hasOlder: false }));
    case "timeline/failed":
      return patch(state, action.roomId, () => ({ loadingOlder: false, error: action.error }));
    case "timeline/gapFill":
      return patch(state, action.roomId, () => ({ fillingGap: action.filling }));
    case "timeline/gapPage":
      return merge(state, action.roomId, action.messages);
    case "thread/summary": {
      const current = state[action.roomId];
      if (!current) return state;
      const messages = withSummary(current.messages, action.rootSeq, action.change, action.thread);
      return messages === current.messages ? state : patch(state, action.roomId, () => ({ messages }));
    }
    default:
      return state;
  }
}

/**
 * The seq to page back from; "none" when nothing is older, null when not now (not loaded, or busy).
 * `first` is the oldest seq there can be: 1 for a room, the root's seq for a thread.
 */
export function olderCursor(paged: Paged | undefined, first = 1): number | "none" | null {
  if (!paged?.loaded || !paged.hasOlder || paged.loadingOlder) return null;
  const oldest = paged.messages[0]?.seq;
  return oldest === undefined || oldest <= first ? "none" : oldest;
}

export function findMessage(state: TimelinesState, roomId: number, seq: number): Message | undefined {
  return state[roomId]?.messages.find((m) => m.seq === seq);
}
