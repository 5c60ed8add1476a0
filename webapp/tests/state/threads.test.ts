import { describe, expect, it } from "vitest";
import { chatReducer, initialChatState, visiblePending } from "@/lib/state/root";
import { IN_ROOM, pendingSend } from "@/lib/state/outbox";
import { findThread, threadsReducer, type ThreadsState } from "@/lib/state/threads";
import { olderCursor, timelinesReducer } from "@/lib/state/timelines";
import type { Message } from "@/lib/types";
import { msg, user } from "../fixtures";

const summary = (reply_count: number) => ({ reply_count, last_reply_seq: 9, last_reply_at: null, participant_ids: [2] });
const received = (message: Message) =>
  ({ type: "message/received", message, fresh: true, unread: false, mention: false, announce: null }) as const;

function opened(messages: Message[], has_more = false): ThreadsState {
  const state = threadsReducer({}, { type: "thread/opened", roomId: 1, rootSeq: 3 });
  return threadsReducer(state, { type: "thread/newest", roomId: 1, rootSeq: 3, page: { messages, has_more } });
}

describe("threads", () => {
  it("keeps a reply out of the main timeline unless it is also sent to the room", () => {
    let state = timelinesReducer({}, received(msg(1, 3)));
    state = timelinesReducer(state, received(msg(1, 4, { thread_root_seq: 3 })));
    state = timelinesReducer(state, received(msg(1, 5, { thread_root_seq: 3, also_in_room: true })));
    expect(state[1]?.messages.map((m) => m.seq)).toEqual([3, 5]);
  });

  it("merges live replies, and edits of its root, into an opened thread only", () => {
    let state = opened([msg(1, 3)]);
    state = threadsReducer(state, received(msg(1, 4, { thread_root_seq: 3 })));
    state = threadsReducer(state, received(msg(1, 6, { thread_root_seq: 5 })));
    state = threadsReducer(state, { type: "message/changed", message: msg(1, 3, { change: 9, body: "edited root" }) });
    expect(findThread(state, 1, 3)?.messages.map((m) => [m.seq, m.body])).toEqual([
      [3, "edited root"],
      [4, "m4"],
    ]);
    expect(findThread(state, 1, 5)).toBeUndefined();
  });

  it("applies a root's summary only when its change is newer", () => {
    let state = opened([msg(1, 3, { change: 3 })]);
    state = threadsReducer(state, { type: "thread/summary", roomId: 1, rootSeq: 3, change: 8, thread: summary(2) });
    const stale = threadsReducer(state, { type: "thread/summary", roomId: 1, rootSeq: 3, change: 7, thread: summary(1) });
    expect(stale).toBe(state);
    expect(findThread(state, 1, 3)?.messages[0]?.thread?.reply_count).toBe(2);
  });

  it("pages back to the root and no further", () => {
    const partial = opened([msg(1, 8, { thread_root_seq: 3 }), msg(1, 9, { thread_root_seq: 3 })], true);
    expect(olderCursor(findThread(partial, 1, 3), 3)).toBe(8);
    const whole = opened([msg(1, 3), msg(1, 8, { thread_root_seq: 3 })], true);
    expect(olderCursor(findThread(whole, 1, 3), 3)).toBe("none");
  });

  it("shows a pending reply in its thread, and in the main timeline only when also sent to the room", () => {
    let state = initialChatState(user(1));
    const reply = pendingSend(1, "in thread", { threadRootSeq: 3, alsoInRoom: false }, "a");
    const both = pendingSend(1, "in both", { threadRootSeq: 3, alsoInRoom: true }, "b");
    const plain = pendingSend(1, "plain", IN_ROOM, "c");
    for (const item of [reply, both, plain]) state = chatReducer(state, { type: "outbox/queued", item });
    expect(visiblePending(state, 1).map((p) => p.clientMsgId)).toEqual(["b", "c"]);
    expect(visiblePending(state, 1, 3).map((p) => p.clientMsgId)).toEqual(["a", "b"]);
  });

  it("forgets a room's threads when the room is left", () => {
    const state = threadsReducer(opened([msg(1, 3)]), { type: "room/removed", roomId: 1 });
    expect(state).toEqual({});
  });
});
