import { describe, expect, it } from "vitest";
import { initialLive, liveReducer, nextTypingExpiry, type LiveState } from "@/lib/state/live";
import { msg } from "../fixtures";

function typing(state: LiveState, roomId: number, userId: number, expiresAt: number): LiveState {
  return liveReducer(state, { type: "typing/started", roomId, userId, expiresAt });
}

describe("liveReducer: typing", () => {
  it("shows who is typing until their notice expires", () => {
    let state = typing(initialLive, 1, 2, 1_000);
    state = typing(state, 1, 3, 2_000);
    expect(nextTypingExpiry(state)).toBe(1_000);
    state = liveReducer(state, { type: "typing/expired", now: 1_500 });
    expect(state.typing).toEqual({ 1: { 3: 2_000 } });
    state = liveReducer(state, { type: "typing/expired", now: 2_000 });
    expect(state.typing).toEqual({});
    expect(nextTypingExpiry(state)).toBeNull();
  });

  it("keeps the state when nothing expired", () => {
    const state = typing(initialLive, 1, 2, 1_000);
    expect(liveReducer(state, { type: "typing/expired", now: 10 })).toBe(state);
  });

  it("ends a typing notice when that person's message arrives, and announces it", () => {
    const state = typing(initialLive, 1, 2, 9_000);
    const next = liveReducer(state, {
      type: "message/received",
      message: msg(1, 4, { sender_id: 2 }),
      fresh: true,
      unread: false,
      mention: false,
      announce: "bob: hi",
    });
    expect(next.typing[1]).toEqual({});
    expect(next.announcement).toBe("bob: hi");
  });
});

describe("liveReducer: presence", () => {
  it("takes the loaded list, then follows arrivals and departures, in id order", () => {
    let state = liveReducer(initialLive, { type: "presence/loaded", roomId: 1, online: [5, 2] });
    expect(state.presence[1]).toEqual([2, 5]);
    state = liveReducer(state, { type: "presence/changed", roomId: 1, userId: 3, online: true });
    expect(state.presence[1]).toEqual([2, 3, 5]);
    state = liveReducer(state, { type: "presence/changed", roomId: 1, userId: 5, online: false });
    expect(state.presence[1]).toEqual([2, 3]);
    expect(liveReducer(state, { type: "presence/changed", roomId: 1, userId: 3, online: true })).toBe(state);
  });

  it("takes someone who left the room off its online list", () => {
    const state = liveReducer(initialLive, { type: "presence/loaded", roomId: 1, online: [2, 3] });
    const next = liveReducer(state, { type: "member/changed", roomId: 1, userId: 3, joined: false });
    expect(next.presence[1]).toEqual([2]);
  });

  it("forgets typing and presence when the connection drops (they are rebuilt after catch-up)", () => {
    let state = typing(initialLive, 1, 2, 9_000);
    state = liveReducer(state, { type: "presence/loaded", roomId: 1, online: [2] });
    expect(liveReducer(state, { type: "connection/status", status: "syncing", detail: "" })).toBe(state);
    const offline = liveReducer(state, { type: "connection/status", status: "offline", detail: "" });
    expect(offline.typing).toEqual({});
    expect(offline.presence).toEqual({});
  });
});
