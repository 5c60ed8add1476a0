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
  /**
   * After a jump to an old message (a search hit): the newest seq of the stretch around it when the
   * messages after it are not all held yet (null: the timeline has no hole). Held messages after it
   * are the newest ones (the newest page, live messages).
   */
  holeAfter: number | null;
  loadingNewer: boolean;
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

export const EMPTY_TIMELINE: Timeline = { ...EMPTY_PAGED, fillingGap: false, holeAfter: null, loadingNewer: false };

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
      return patch(state, action.roomId, (t) => ({
        ...newestPage(t, action.page),
        // Older messages held already (a jump's stretch) keep their own answer to "is there more?".
        hasOlder: heldOlder(t, action.page) ? t.hasOlder : action.page.has_more,
        holeAfter: newestCloses(t, action.page),
      }));
    case "timeline/around":
      return patch(state, action.roomId, (t) => around(t, action.seq, action.before, action.after));
    case "timeline/newerRequested":
      return patch(state, action.roomId, () => ({ loadingNewer: true }));
    case "timeline/newer":
      return patch(state, action.roomId, (t) => newer(t, action.page));
    case "timeline/olderRequested":
      return patch(state, action.roomId, () => ({ loadingOlder: true }));
    case "timeline/older":
      return patch(state, action.roomId, (t) => olderPage(t, action.page));
    case "timeline/replayStarted":
      return patch(state, action.roomId, (t) => replayStarted(t, action.cursorSeq));
    case "timeline/noOlder":
      return patch(state, action.roomId, () => ({ hasOlder: false }));
    case "timeline/failed":
      return patch(state, action.roomId, () => ({ loadingOlder: false, loadingNewer: false, error: action.error }));
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

// -- search: jumping to an old message ---------------------------------------------------------------

const newestSeq = (page: MessagePage, fallback: number) => page.messages.at(-1)?.seq ?? fallback;

/**
 * The stretch around `seq` joins the timeline. What was held after an earlier hole (the newest
 * messages) is kept, an earlier jump's stretch is dropped, so there is at most one hole: between
 * this stretch and the newest messages, unless they meet.
 */
function around(t: Timeline, seq: number, before: MessagePage, after: MessagePage): Partial<Timeline> {
  const newest = t.holeAfter === null ? t.messages : t.messages.filter((m) => m.seq > (t.holeAfter ?? 0));
  const end = newestSeq(after, seq);
  const meets = !after.has_more || (newest[0] !== undefined && newest[0].seq <= end);
  const stretch = mergeMessages(before.messages, after.messages);
  return {
    messages: mergeMessages(newest, stretch),
    loaded: t.loaded || !after.has_more,
    hasOlder: before.has_more,
    holeAfter: meets ? null : end,
    error: null,
  };
}

/** A page read forward from the hole: it closes when nothing newer is left or it reaches the newest held. */
function newer(t: Timeline, page: MessagePage): Partial<Timeline> {
  if (t.holeAfter === null) return { messages: mergeMessages(t.messages, page.messages), loadingNewer: false };
  const next = t.messages.find((m) => m.seq > (t.holeAfter ?? 0));
  const end = newestSeq(page, t.holeAfter);
  const meets = !page.has_more || (next !== undefined && next.seq <= end);
  return { messages: mergeMessages(t.messages, page.messages), holeAfter: meets ? null : end, loadingNewer: false };
}

/** The newest page closes the hole when it reaches back into the stretch (or is the whole room). */
function newestCloses(t: Timeline, page: MessagePage): number | null {
  if (t.holeAfter === null) return null;
  const oldest = page.messages[0]?.seq;
  return !page.has_more || (oldest !== undefined && oldest <= t.holeAfter) ? null : t.holeAfter;
}

/**
 * The socket's replay skipped the messages after cursorSeq (the server's cap per room): those held
 * up to it end before a hole, loaded with "Load newer messages"; with none held, "Load older
 * messages" pages back to them.
 */
function replayStarted(t: Timeline, cursorSeq: number): Partial<Timeline> {
  const held = t.messages.some((m) => m.seq <= cursorSeq);
  if (!held) return { hasOlder: true };
  return { holeAfter: t.holeAfter === null ? cursorSeq : Math.min(t.holeAfter, cursorSeq) };
}

/** Whether the timeline holds messages older than a newest page (from a jump): their paging stands. */
function heldOlder(t: Timeline, page: MessagePage): boolean {
  const oldest = page.messages[0]?.seq;
  return oldest !== undefined && t.messages.length > 0 && (t.messages[0]?.seq ?? oldest) < oldest;
}

/** Whether a room's timeline holds a message (the jump needs no fetch then). */
export function holds(timeline: Timeline | undefined, seq: number): boolean {
  return timeline?.messages.some((m) => m.seq === seq) ?? false;
}
