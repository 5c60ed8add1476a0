import { describe, expect, it } from "vitest";
import type { Action } from "@/lib/state/actions";
import { initialRooms, roomsReducer, roomTitle, type RoomsState } from "@/lib/state/rooms";
import { initialUsers } from "@/lib/state/users";
import { msg, myRoom, room, user } from "../fixtures";

function loaded(...ids: number[]): RoomsState {
  return roomsReducer(initialRooms, { type: "rooms/loaded", rooms: ids.map((id) => myRoom(id, { last_seq: 5 })) });
}

function received(roomId: number, seq: number, extra: Partial<Extract<Action, { type: "message/received" }>> = {}) {
  return { type: "message/received", message: msg(roomId, seq), fresh: true, unread: true, mention: false, announce: null, ...extra } as const;
}

describe("roomsReducer", () => {
  it("replaces the list when my rooms are loaded, and says they are known", () => {
    const state = loaded(1, 2);
    expect(state.loaded).toBe(true);
    expect(state.list.map((r) => r.room.id)).toEqual([1, 2]);
  });

  it("shows loaded rooms (which come by id) most recently active first", () => {
    const at = (id: number, when: string | null) => myRoom(id, { last_message_at: when });
    const rooms = [at(1, "2026-12-07T10:00:00Z"), at(2, null), at(3, "2026-12-07T12:00:00Z")];
    const state = roomsReducer(initialRooms, { type: "rooms/loaded", rooms });
    expect(state.list.map((r) => r.room.id)).toEqual([3, 1, 2]);
  });

  it("keeps pending invitations, newest first, and drops one that was answered", () => {
    const invitation = (id: number) => ({ room: room(id), user_id: 2, inviter_id: 1, created_at: "2026-12-07T10:00:00Z" });
    let state = roomsReducer(initialRooms, { type: "invitations/loaded", invitations: [invitation(4)] });
    state = roomsReducer(state, { type: "invitation/changed", invitation: invitation(5), pending: true });
    expect(state.invitations.map((i) => i.room.id)).toEqual([5, 4]);
    state = roomsReducer(state, { type: "invitation/changed", invitation: invitation(4), pending: false });
    expect(state.invitations.map((i) => i.room.id)).toEqual([5]);
  });

  it("moves a room with a new message to the top and counts it unread", () => {
    const state = roomsReducer(loaded(1, 2, 3), received(3, 6));
    expect(state.list.map((r) => r.room.id)).toEqual([3, 1, 2]);
    expect(state.list[0]?.unread_count).toBe(1);
    expect(state.list[0]?.room.last_seq).toBe(6);
  });

  it("does not count a message I am looking at, or one seen before", () => {
    const before = loaded(1, 2);
    const seen = roomsReducer(before, received(2, 6, { unread: false }));
    expect(seen.list[0]?.unread_count).toBe(0);
    expect(roomsReducer(before, received(2, 6, { fresh: false }))).toBe(before);
  });

  it("clears the unread count when the read marker reaches the newest message, not before", () => {
    let state = roomsReducer(loaded(1), received(1, 6));
    state = roomsReducer(state, received(1, 7));
    expect(state.list[0]?.unread_count).toBe(2);
    const partly = roomsReducer(state, { type: "read/marked", roomId: 1, lastReadSeq: 6 });
    expect(partly.list[0]?.unread_count).toBe(2);
    expect(partly.list[0]?.last_read_seq).toBe(6);
    const all = roomsReducer(partly, { type: "read/marked", roomId: 1, lastReadSeq: 7 });
    expect(all.list[0]?.unread_count).toBe(0);
    const stale = roomsReducer(all, { type: "read/marked", roomId: 1, lastReadSeq: 3 });
    expect(stale.list[0]?.last_read_seq).toBe(7);
  });

  it("adds a room I created or joined once, at the top, read up to its last message", () => {
    const state = roomsReducer(loaded(1), { type: "room/added", room: room(9, { last_seq: 4 }), role: "owner" });
    expect(state.list.map((r) => r.room.id)).toEqual([9, 1]);
    expect(state.list[0]).toMatchObject({ last_read_seq: 4, unread_count: 0, role: "owner" });
    expect(roomsReducer(state, { type: "room/added", room: room(9), role: "member" })).toBe(state);
  });

  it("updates a known room, ignores an unknown one, and removes one I left", () => {
    const state = loaded(1, 2);
    const renamed = roomsReducer(state, { type: "room/updated", room: room(2, { name: "lunch" }) });
    expect(renamed.list[1]?.room.name).toBe("lunch");
    expect(roomsReducer(state, { type: "room/updated", room: room(7) })).toBe(state);
    expect(roomsReducer(state, { type: "room/removed", roomId: 1 }).list.map((r) => r.room.id)).toEqual([2]);
  });

  it("counts members who join and leave, never below zero", () => {
    let state = loaded(1);
    state = roomsReducer(state, { type: "member/changed", roomId: 1, userId: 5, joined: true });
    expect(state.list[0]?.room.member_count).toBe(3);
    for (let i = 0; i < 5; i += 1) state = roomsReducer(state, { type: "member/changed", roomId: 1, userId: 5, joined: false });
    expect(state.list[0]?.room.member_count).toBe(0);
  });

  it("names a direct conversation after the other person", () => {
    const users = { ...initialUsers(user(1, "me")), byId: { 1: user(1, "me"), 2: user(2, "bob") } };
    expect(roomTitle(room(1, { kind: "direct", direct_user_ids: [1, 2] }), users)).toBe("bob");
    expect(roomTitle(room(1, { kind: "direct", direct_user_ids: [1, 3] }), users)).toBe("user 3");
    expect(roomTitle(room(1, { kind: "direct", direct_user_ids: [1] }), users)).toBe("me");
    expect(roomTitle(room(1, { name: "general" }), users)).toBe("general");
  });
});

describe("roomsReducer, mentions and levels", () => {
  it("counts a mention beside the unread count, and a read up to the newest clears both", () => {
    let state = roomsReducer(loaded(1), received(1, 6, { mention: true }));
    expect(state.list[0]).toMatchObject({ unread_count: 1, mention_count: 1 });
    state = roomsReducer(state, { type: "read/marked", roomId: 1, lastReadSeq: 6, unreadCount: 0, mentionCount: 0 });
    expect(state.list[0]).toMatchObject({ unread_count: 0, mention_count: 0 });
  });

  it("takes the server's counts from a read that is not up to the newest", () => {
    let state = roomsReducer(loaded(1), received(1, 6, { mention: true }));
    state = roomsReducer(state, received(1, 7, { mention: true }));
    state = roomsReducer(state, { type: "read/marked", roomId: 1, lastReadSeq: 6, unreadCount: 1, mentionCount: 1 });
    expect(state.list[0]).toMatchObject({ last_read_seq: 6, unread_count: 1, mention_count: 1 });
  });

  it("sets my notification level from a member_settings frame", () => {
    const state = roomsReducer(loaded(1), { type: "room/notificationLevel", roomId: 1, level: "none" });
    expect(state.list[0]?.notification_level).toBe("none");
  });
});
