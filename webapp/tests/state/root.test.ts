import { describe, expect, it } from "vitest";
import { IN_ROOM, pendingSend } from "@/lib/state/outbox";
import { chatReducer, initialChatState, visiblePending } from "@/lib/state/root";
import { msg, myRoom, user } from "../fixtures";

describe("chatReducer", () => {
  it("gives one event to every slice: a new message moves its room, lands in the timeline, confirms my send", () => {
    let state = initialChatState(user(1));
    state = chatReducer(state, { type: "rooms/loaded", rooms: [myRoom(1), myRoom(2)] });
    state = chatReducer(state, { type: "outbox/queued", item: pendingSend(2, "hi", IN_ROOM, "a") });
    const message = msg(2, 1, { client_msg_id: "a", sender_id: 1 });
    state = chatReducer(state, { type: "message/received", message, fresh: true, unread: false, mention: false, announce: null });
    expect(state.rooms.list[0]?.room.id).toBe(2);
    expect(state.timelines[2]?.messages).toEqual([message]);
    expect(state.outbox[2]).toEqual([]);
  });

  it("keeps the state object (and every slice) when no slice changed", () => {
    const state = initialChatState(user(1));
    expect(chatReducer(state, { type: "typing/expired", now: 0 })).toBe(state);
    const next = chatReducer(state, { type: "users/loaded", users: [user(2)] });
    expect(next.rooms).toBe(state.rooms);
    expect(next.timelines).toBe(state.timelines);
    expect(next.users).not.toBe(state.users);
  });

  it("never shows a send twice: not as pending once its message is in the timeline", () => {
    let state = initialChatState(user(1));
    // Another tab's send, restored from storage after its message already arrived here.
    state = chatReducer(state, { type: "timeline/newest", roomId: 1, page: { messages: [msg(1, 1, { client_msg_id: "a" })], has_more: false } });
    state = chatReducer(state, { type: "outbox/restored", items: [pendingSend(1, "hi", IN_ROOM, "a"), pendingSend(1, "yo", IN_ROOM, "b")] });
    expect(visiblePending(state, 1).map((p) => p.clientMsgId)).toEqual(["b"]);
    expect(visiblePending(state, 7)).toEqual([]);
  });
});
