// Fetching what the socket does not bring: a room's newest page when it opens, older pages as the
// reader scrolls up, the messages missing after a gap, and who is online in the open room.

import { ApiError } from "../api";
import { findThread, openedRoots } from "../state/threads";
import { holds, olderCursor } from "../state/timelines";
import type { ChatContext } from "./context";

const GAP_ROUNDS = 20;
const AROUND = 25; // messages on each side of a message jumped to

function problem(error: unknown, fallback: string): string {
  return error instanceof ApiError ? error.message : fallback;
}

export class History {
  constructor(private readonly chat: ChatContext) {}

  /** The newest page of a room; true once it is in the timeline. */
  async loadNewest(roomId: number): Promise<boolean> {
    try {
      const page = await this.chat.api.messagesBefore(roomId);
      this.chat.users.ensure(page.messages.map((m) => m.sender_id));
      this.chat.dispatch({ type: "timeline/newest", roomId, page });
      return true;
    } catch (error) {
      this.chat.dispatch({ type: "timeline/failed", roomId, error: problem(error, "Could not load messages.") });
      return false;
    }
  }

  /** Older history, when the reader scrolls up. */
  async loadOlder(roomId: number): Promise<void> {
    const before = olderCursor(this.chat.state().timelines[roomId]);
    if (before === null) return;
    if (before === "none") return this.chat.dispatch({ type: "timeline/noOlder", roomId });
    this.chat.dispatch({ type: "timeline/olderRequested", roomId });
    try {
      const page = await this.chat.api.messagesBefore(roomId, before);
      this.chat.users.ensure(page.messages.map((m) => m.sender_id));
      this.chat.dispatch({ type: "timeline/older", roomId, page });
    } catch (error) {
      const message = problem(error, "Could not load older messages.");
      this.chat.dispatch({ type: "timeline/failed", roomId, error: message });
    }
  }

  /**
   * History around one message (a search hit jumped to), unless it is held already: the page that
   * ends with it and the page after it, side by side. Resolves once it is in the timeline (or failed).
   */
  async loadAround(roomId: number, seq: number): Promise<void> {
    if (holds(this.chat.state().timelines[roomId], seq)) return;
    try {
      const [before, after] = await Promise.all([
        this.chat.api.messagesBefore(roomId, seq + 1, AROUND),
        this.chat.api.messagesAfter(roomId, seq, AROUND),
      ]);
      this.chat.users.ensure([...before.messages, ...after.messages].map((m) => m.sender_id));
      this.chat.dispatch({ type: "timeline/around", roomId, seq, before, after });
    } catch (error) {
      this.chat.dispatch({ type: "timeline/failed", roomId, error: problem(error, "Could not load that message.") });
    }
  }

  /** Newer history after a jump, when the reader reaches the hole below the jumped-to stretch. */
  async loadNewer(roomId: number): Promise<void> {
    const timeline = this.chat.state().timelines[roomId];
    if (!timeline || timeline.holeAfter === null || timeline.loadingNewer) return;
    this.chat.dispatch({ type: "timeline/newerRequested", roomId });
    try {
      const page = await this.chat.api.messagesAfter(roomId, timeline.holeAfter);
      this.chat.users.ensure(page.messages.map((m) => m.sender_id));
      this.chat.dispatch({ type: "timeline/newer", roomId, page });
    } catch (error) {
      this.chat.dispatch({ type: "timeline/failed", roomId, error: problem(error, "Could not load newer messages.") });
    }
  }

  /** A message arrived past a gap: fetch what is missing after the last contiguous seq. */
  async fillGap(roomId: number): Promise<void> {
    const { api, cursors, dispatch } = this.chat;
    if (this.chat.state().timelines[roomId]?.fillingGap) return;
    dispatch({ type: "timeline/gapFill", roomId, filling: true });
    try {
      for (let round = 0; round < GAP_ROUNDS; round += 1) {
        const page = await api.messagesAfter(roomId, cursors.lastSeq(roomId));
        for (const message of page.messages) cursors.observeMessage(message);
        dispatch({ type: "timeline/gapPage", roomId, messages: page.messages });
        if (!page.has_more) {
          cursors.settle(roomId);
          await this.reloadThreads(roomId);
          break;
        }
      }
    } catch {
      // the next reconnect resumes from the cursor anyway
    } finally {
      dispatch({ type: "timeline/gapFill", roomId, filling: false });
    }
  }

  /** The newest page of a thread (its root first when the thread is short); true once it is held. */
  async loadThread(roomId: number, rootSeq: number): Promise<boolean> {
    this.chat.dispatch({ type: "thread/opened", roomId, rootSeq });
    try {
      const page = await this.chat.api.threadBefore(roomId, rootSeq);
      this.chat.users.ensure(page.messages.map((m) => m.sender_id));
      this.chat.dispatch({ type: "thread/newest", roomId, rootSeq, page });
      return true;
    } catch (error) {
      const message = problem(error, "Could not load the thread.");
      this.chat.dispatch({ type: "thread/failed", roomId, rootSeq, error: message });
      return false;
    }
  }

  /** Older replies of a thread, when the reader scrolls up in it. */
  async loadOlderThread(roomId: number, rootSeq: number): Promise<void> {
    const before = olderCursor(findThread(this.chat.state().threads, roomId, rootSeq), rootSeq);
    if (before === null || before === "none") return;
    this.chat.dispatch({ type: "thread/olderRequested", roomId, rootSeq });
    try {
      const page = await this.chat.api.threadBefore(roomId, rootSeq, before);
      this.chat.users.ensure(page.messages.map((m) => m.sender_id));
      this.chat.dispatch({ type: "thread/older", roomId, rootSeq, page });
    } catch (error) {
      const message = problem(error, "Could not load older replies.");
      this.chat.dispatch({ type: "thread/failed", roomId, rootSeq, error: message });
    }
  }

  /** The threads of a room held so far, fetched again (after a gap the socket could not fill). */
  private async reloadThreads(roomId: number): Promise<void> {
    const roots = openedRoots(this.chat.state().threads, roomId);
    await Promise.all(roots.map((rootSeq) => this.loadThread(roomId, rootSeq)));
  }

  async loadPresence(roomId: number): Promise<void> {
    try {
      const presence = await this.chat.api.presence(roomId);
      this.chat.users.ensure(presence.online);
      this.chat.dispatch({ type: "presence/loaded", roomId, online: presence.online });
    } catch {
      // presence is best effort
    }
  }
}
