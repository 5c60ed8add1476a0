import { describe, expect, it } from "vitest";
import type { Action } from "@/lib/state/actions";
import {
  newClientMsgId,
  outboxReducer,
  IN_ROOM,
  pendingFileIds,
  pendingSend,
  toResend,
  type OutboxState,
} from "@/lib/state/outbox";
import { fileOut, msg } from "../fixtures";

const ME = 1;
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));

function run(state: OutboxState, ...actions: Action[]): OutboxState {
  return actions.reduce((s, action) => outboxReducer(s, action, ME), state);
}

describe("outboxReducer", () => {
  it("keeps the client_msg_id of a send until it is confirmed, for resending", () => {
    const a = pendingSend(1, "hello", IN_ROOM, "a", at(1));
    const b = pendingSend(1, "again", IN_ROOM, "b", at(2));
    let state = run({}, { type: "outbox/queued", item: a }, { type: "outbox/queued", item: b });
    expect(toResend(state).map((i) => i.clientMsgId)).toEqual(["a", "b"]);
    state = run(state, { type: "outbox/confirmed", clientMsgId: "a" });
    expect(run(state, { type: "outbox/confirmed", clientMsgId: "a" })).toBe(state);
    expect(toResend(state).map((i) => i.clientMsgId)).toEqual(["b"]);
  });

  it("queues a send once, however often it is queued", () => {
    const a = pendingSend(1, "hello", IN_ROOM, "a");
    const once = run({}, { type: "outbox/queued", item: a });
    expect(run(once, { type: "outbox/queued", item: a })).toBe(once);
  });

  it("does not resend a failed send until retried", () => {
    let state = run({}, { type: "outbox/queued", item: pendingSend(2, "too long", IN_ROOM, "a") });
    state = run(state, { type: "outbox/failed", clientMsgId: "a", error: "limit is 4000" });
    expect(toResend(state)).toEqual([]);
    expect(state[2]?.[0]?.error).toBe("limit is 4000");
    state = run(state, { type: "outbox/retried", clientMsgId: "a" });
    expect(toResend(state).map((i) => i.clientMsgId)).toEqual(["a"]);
    expect(run(state, { type: "outbox/discarded", clientMsgId: "a" })[2]).toEqual([]);
  });

  it("drops a send when my stored message shows up, by frame or in a history page", () => {
    let state = run(
      {},
      { type: "outbox/queued", item: pendingSend(1, "x", IN_ROOM, "a") },
      { type: "outbox/queued", item: pendingSend(1, "y", IN_ROOM, "b") },
    );
    state = run(state, {
      type: "message/received",
      message: msg(1, 4, { client_msg_id: "a", sender_id: ME }),
      fresh: false,
      unread: false,
      mention: false,
      announce: null,
    });
    expect(state[1]?.map((i) => i.clientMsgId)).toEqual(["b"]);
    state = run(state, {
      type: "timeline/newest",
      roomId: 1,
      page: { messages: [msg(1, 5, { client_msg_id: "b", sender_id: ME })], has_more: false },
    });
    expect(state[1]).toEqual([]);
  });

  it("is not confirmed by someone else's message with the same client_msg_id, or one in another room", () => {
    const state = run({}, { type: "outbox/queued", item: pendingSend(1, "x", IN_ROOM, "a") });
    const other = run(state, { type: "timeline/gapPage", roomId: 1, messages: [msg(1, 2, { client_msg_id: "a", sender_id: 9 })] });
    expect(other).toBe(state);
    const elsewhere = run(state, { type: "timeline/gapPage", roomId: 2, messages: [msg(2, 2, { client_msg_id: "a", sender_id: ME })] });
    expect(elsewhere).toBe(state);
  });

  it("takes the persisted outbox, oldest first, keeping unchanged rooms as they were", () => {
    const kept = pendingSend(1, "x", IN_ROOM, "a", at(1));
    const state = run({}, { type: "outbox/queued", item: kept });
    const restored = run(state, {
      type: "outbox/restored",
      items: [pendingSend(2, "later", IN_ROOM, "c", at(3)), { ...kept }, pendingSend(2, "sooner", IN_ROOM, "b", at(2))],
    });
    expect(restored[1]).toBe(state[1]);
    expect(restored[2]?.map((i) => i.clientMsgId)).toEqual(["b", "c"]);
    expect(run(restored, { type: "outbox/restored", items: [kept, ...restored[2]!] })).toBe(restored);
    expect(run(restored, { type: "outbox/restored", items: [] })[1]).toEqual([]);
  });

  it("makes ids that fit the 64-character limit and differ", () => {
    const ids = new Set(Array.from({ length: 100 }, newClientMsgId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
  });
});

describe("a send with files", () => {
  it("keeps the files, and their ids for the send frame, in the pending item", () => {
    const files = [fileOut("f1"), fileOut("f2", { name: "report.pdf", content_type: "application/pdf" })];
    const item = pendingSend(1, "", IN_ROOM, "a", new Date(), files);
    const state = outboxReducer({}, { type: "outbox/queued", item }, 1);
    expect(pendingFileIds(state[1]![0]!)).toEqual(["f1", "f2"]);
    const failed = outboxReducer(state, { type: "outbox/failed", clientMsgId: "a", error: "x" }, 1);
    const retried = outboxReducer(failed, { type: "outbox/retried", clientMsgId: "a" }, 1);
    expect(pendingFileIds(retried[1]![0]!)).toEqual(["f1", "f2"]);
  });

  it("has no files field when it carries none", () => {
    expect(pendingSend(1, "hi", IN_ROOM, "a")).not.toHaveProperty("files");
    expect(pendingFileIds(pendingSend(1, "hi", IN_ROOM, "a"))).toEqual([]);
  });
});
