import { describe, expect, it } from "vitest";
import { groupMessages } from "@/lib/grouping";
import { mergeMessages } from "@/lib/timeline";
import type { Message } from "@/lib/types";

function msg(seq: number, change = seq, sender = 1, at = "2026-03-01T10:00:00Z"): Message {
  return {
    room_id: 1,
    seq,
    change,
    sender_id: sender,
    client_msg_id: `c${seq}`,
    body: `m${seq}`,
    created_at: at,
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

describe("mergeMessages", () => {
  it("sorts by seq and never shows a seq twice", () => {
    const merged = mergeMessages([msg(2), msg(3)], [msg(1), msg(3), msg(4)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("keeps the newest version of an edited message", () => {
    const edited = { ...msg(2, 9), body: "edited" };
    expect(mergeMessages([msg(2)], [edited])[0]?.body).toBe("edited");
    expect(mergeMessages([edited], [msg(2)])[0]?.body).toBe("edited");
  });

  it("returns the same array when nothing changed", () => {
    const list = [msg(1)];
    expect(mergeMessages(list, [msg(1)])).toBe(list);
  });
});

describe("groupMessages", () => {
  it("groups runs by author and splits on another author", () => {
    const items = [msg(1, 1, 1), msg(2, 2, 1), msg(3, 3, 2), msg(4, 4, 1)].map((m) => ({
      key: String(m.seq),
      senderId: m.sender_id,
      createdAt: m.created_at,
    }));
    const days = groupMessages(items);
    expect(days).toHaveLength(1);
    expect(days[0]?.runs.map((r) => r.items.length)).toEqual([2, 1, 1]);
  });

  it("starts a new day group on another calendar day", () => {
    const items = [
      { key: "a", senderId: 1, createdAt: "2026-03-01T10:00:00" },
      { key: "b", senderId: 1, createdAt: "2026-03-02T10:00:00" },
    ];
    expect(groupMessages(items)).toHaveLength(2);
  });
});
