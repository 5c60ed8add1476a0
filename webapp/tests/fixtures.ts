// Small builders of the gateway's shapes for the unit tests.

import type { FileOut, Message, MyRoom, Room, User } from "@/lib/types";

export function msg(room: number, seq: number, options: Partial<Message> = {}): Message {
  return {
    room_id: room,
    seq,
    change: seq,
    sender_id: 1,
    client_msg_id: `c${room}-${seq}`,
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
    ...options,
  };
}

export function room(id: number, options: Partial<Room> = {}): Room {
  return {
    id,
    kind: "private",
    name: `room${id}`,
    topic: "",
    created_by: 1,
    created_at: "2026-01-01T00:00:00Z",
    last_seq: 0,
    last_change: 0,
    member_count: 2,
    direct_user_ids: [],
    ...options,
  };
}

export function myRoom(id: number, options: Partial<Room> = {}, unread = 0): MyRoom {
  const r = room(id, options);
  return {
    room: r,
    last_read_seq: r.last_seq - unread,
    unread_count: unread,
    role: "member",
    mention_count: 0,
    notification_level: r.kind === "direct" ? "all" : "mentions",
  };
}

export function user(id: number, username = `u${id}`): User {
  return { id, username, display_name: username, created_at: "2026-01-01T00:00:00Z" };
}

/** A Storage kept in memory (one per test: a fresh "browser profile"). */
export class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

export function fileOut(id: string, options: Partial<FileOut> = {}): FileOut {
  return {
    id,
    room_id: 1,
    uploader_id: 1,
    name: `${id}.png`,
    size: 1234,
    content_type: "image/png",
    sha256: "0".repeat(64),
    width: 800,
    height: 600,
    has_thumbnail: true,
    created_at: "2026-01-01T00:00:00Z",
    ...options,
  };
}
