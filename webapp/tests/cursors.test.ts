import { describe, expect, it } from "vitest";
import type { Message } from "@/lib/types";
import { backoffMs, closeAction, CursorBook } from "@/lib/ws/cursors";

function msg(room: number, seq: number, change = seq): Message {
  return {
    room_id: room,
    seq,
    change,
    sender_id: 1,
    client_msg_id: `c${seq}`,
    body: `m${seq}`,
    created_at: "2026-01-01T00:00:00Z",
    edited_at: null,
    deleted: false,
    // threads and mentions
    thread_root_seq: 0,
    also_in_room: false,
    thread: null,
    deleted_by: null,
    mentioned_user_ids: [],
    mentions_room: false,
  };
}

describe("CursorBook", () => {
  it("drops a message seen before, by (room, seq)", () => {
    const book = new CursorBook();
    book.track(1, 3, 3);
    expect(book.observeMessage(msg(1, 4))).toBe("new");
    expect(book.observeMessage(msg(1, 4))).toBe("duplicate");
    expect(book.observeMessage(msg(1, 2))).toBe("duplicate");
    expect(book.lastSeq(1)).toBe(4);
  });

  it("reports a gap and advances only once it is filled", () => {
    const book = new CursorBook();
    book.track(1, 1, 1);
    expect(book.observeMessage(msg(1, 4))).toBe("gap");
    expect(book.lastSeq(1)).toBe(1);
    expect(book.observeMessage(msg(1, 2))).toBe("gap");
    expect(book.observeMessage(msg(1, 3))).toBe("new");
    expect(book.lastSeq(1)).toBe(4);
    expect(book.observeMessage(msg(1, 4))).toBe("duplicate");
  });

  it("gives resume cursors for every tracked room, in room order", () => {
    const book = new CursorBook();
    book.track(7, 10, 12);
    book.track(2, 0, 0);
    book.observeMessage(msg(2, 1, 1));
    expect(book.cursors()).toEqual([
      { room_id: 2, after_seq: 1, after_change: 1 },
      { room_id: 7, after_seq: 10, after_change: 12 },
    ]);
  });

  it("commits a replay's changes only at caught_up", () => {
    const book = new CursorBook();
    book.track(1, 5, 5);
    book.beginReplay();
    book.observeMessage(msg(1, 6, 9));
    expect(book.cursors()[0]).toEqual({ room_id: 1, after_seq: 6, after_change: 5 });
    book.abortReplay();
    expect(book.cursors()[0]?.after_change).toBe(5);
    book.beginReplay();
    book.observeMessage(msg(1, 7, 10));
    book.endReplay();
    expect(book.cursors()[0]).toEqual({ room_id: 1, after_seq: 7, after_change: 10 });
  });

  it("applies an edit only when its change is newer than the known version", () => {
    const book = new CursorBook();
    book.track(1, 5, 5);
    expect(book.observeChange(msg(1, 3, 8), msg(1, 3, 3))).toBe(true);
    expect(book.observeChange(msg(1, 3, 8), msg(1, 3, 8))).toBe(false);
    expect(book.cursors()[0]?.after_change).toBe(8);
  });

  it("starts tracking an unknown room from its first live message", () => {
    const book = new CursorBook();
    expect(book.observeMessage(msg(9, 3))).toBe("new");
    expect(book.observeMessage(msg(9, 3))).toBe("duplicate");
    expect(book.lastSeq(9)).toBe(3);
  });
});

describe("backoffMs", () => {
  it("grows exponentially with jitter and stays under the cap", () => {
    expect(backoffMs(0, () => 0)).toBe(250);
    expect(backoffMs(0, () => 1)).toBe(500);
    expect(backoffMs(3, () => 1)).toBe(4000);
    expect(backoffMs(50, () => 1)).toBe(15_000);
  });
});

describe("closeAction", () => {
  it("maps close codes to what the client does", () => {
    expect(closeAction(4001)).toBe("signin");
    expect(closeAction(4004)).toBe("signin");
    expect(closeAction(4005)).toBe("signin"); // the account was disabled: never reconnect
    expect(closeAction(4003)).toBe("refresh");
    for (const code of [1001, 1006, 1011, 1012, 1013, 4008, 4009]) expect(closeAction(code)).toBe("reconnect");
  });
});
