// The controller with a fake WebSocket and fetch (the edges): sends restored from storage go out
// once per catch-up with their client_msg_id, and the ack plus the message frame show them once.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatController } from "@/lib/chat/controller";
import { SessionManager } from "@/lib/session";
import { IN_ROOM, pendingSend } from "@/lib/state/outbox";
import type { ClientFrame, ServerFrame } from "@/lib/types";
import { fileOut, MemoryStorage, msg, myRoom, user } from "./fixtures";

class FakeSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  readyState = FakeSocket.OPEN;
  readonly sent: ClientFrame[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  send(text: string) {
    // Every command names its trace; kept apart so that the frames compare as the controller made them.
    const { traceparent, ...frame } = JSON.parse(text) as ClientFrame;
    if (frame.type !== "auth") expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    this.sent.push(frame as ClientFrame);
  }
  close() {
    this.readyState = 3;
  }
  receive(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
}

const ME = user(1, "alice");
const OUTBOX_KEY = `parley.outbox.v1.${ME.id}`;

function signedInStorage(): MemoryStorage {
  const storage = new MemoryStorage();
  const expires = new Date(Date.now() + 15 * 60_000).toISOString();
  storage.setItem(
    "parley.session.v1",
    JSON.stringify({
      user: ME,
      session: {
        access_token: "t",
        access_token_expires_at: expires,
        refresh_token: "r",
        refresh_token_expires_at: expires,
        session_id: "s",
      },
    }),
  );
  return storage;
}

function ready(lastSeq: number): ServerFrame {
  return {
    type: "ready",
    protocol: 2,
    user_id: ME.id,
    username: ME.username,
    session_expires_at: Date.now() / 1000 + 900,
    heartbeat_seconds: 20,
    idle_timeout_seconds: 60,
    rooms: [myRoom(1, { last_seq: lastSeq })],
  };
}

let sockets: FakeSocket[];
let chat: ChatController;
let storage: MemoryStorage;

beforeEach(() => {
  sockets = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  // REST answers: no rooms beyond the ready frame's, no names to look up.
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const body = String(url).includes("/users") ? { users: [] } : { rooms: [] };
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
  storage = signedInStorage();
  storage.setItem(OUTBOX_KEY, JSON.stringify([pendingSend(1, "written offline", IN_ROOM, "w-1")]));
  chat = new ChatController(new SessionManager(storage), {
    storage,
    createSocket: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket as unknown as WebSocket;
    },
  });
});

afterEach(() => {
  chat.stop();
  vi.unstubAllGlobals();
});

/** Start (or reconnect) and finish the handshake on the newest socket. */
async function connect(lastSeq: number): Promise<FakeSocket> {
  const before = sockets.length;
  await vi.waitFor(() => expect(sockets.length).toBe(before + 1), { timeout: 5_000 });
  const socket = sockets.at(-1)!;
  socket.onopen?.();
  socket.receive(ready(lastSeq));
  socket.receive({ type: "caught_up" });
  return socket;
}

const sends = (socket: FakeSocket) => socket.sent.filter((f) => f.type === "send");

describe("ChatController and the outbox", () => {
  it("shows a send restored from storage as pending and sends it once after catch-up", async () => {
    chat.start();
    expect(chat.store.getState().outbox[1]?.map((p) => p.body)).toEqual(["written offline"]);
    const socket = await connect(0);
    expect(sends(socket)).toEqual([
      { type: "send", ref: "w-1", room_id: 1, client_msg_id: "w-1", body: "written offline" },
    ]);
  });

  it("sends it again with the same client_msg_id after a reconnect, until confirmed", async () => {
    chat.start();
    const first = await connect(0);
    first.drop();
    const second = await connect(0);
    expect(sends(second).map((f) => f.type === "send" && f.client_msg_id)).toEqual(["w-1"]);
    expect(sends(first)).toHaveLength(1);
  });

  it("shows the message once when both its ack and its message frame come, twice each", async () => {
    chat.start();
    const socket = await connect(0);
    const stored = msg(1, 1, { client_msg_id: "w-1", sender_id: ME.id, body: "written offline" });
    socket.receive({ type: "send_ack", ref: "w-1", message: stored, duplicate: false });
    socket.receive({ type: "message", room_id: 1, message: stored });
    socket.receive({ type: "send_ack", ref: "w-1", message: stored, duplicate: true }); // another tab's resend
    socket.receive({ type: "message", room_id: 1, message: stored });
    const state = chat.store.getState();
    expect(state.timelines[1]?.messages).toEqual([stored]);
    expect(state.outbox[1]).toEqual([]);
    expect(state.rooms.list[0]?.room.last_seq).toBe(1);
    expect(storage.getItem(OUTBOX_KEY)).toBeNull();
  });

  it("keeps a new send in storage until it is confirmed", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    const socket = await connect(0);
    chat.send(1, "hello");
    const [frame] = sends(socket);
    const id = frame?.type === "send" ? frame.client_msg_id : "";
    expect(JSON.parse(storage.getItem(OUTBOX_KEY) ?? "[]")).toMatchObject([{ clientMsgId: id, body: "hello" }]);
    socket.receive({ type: "message", room_id: 1, message: msg(1, 1, { client_msg_id: id, sender_id: ME.id }) });
    expect(storage.getItem(OUTBOX_KEY)).toBeNull();
  });

  it("sends the ids of a message's files, again after a reload, and an empty body with them", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    const socket = await connect(0);
    chat.send(1, "", IN_ROOM, [fileOut("f1"), fileOut("f2")]);
    expect(sends(socket)).toMatchObject([{ body: "", file_ids: ["f1", "f2"] }]);
    chat.stop();
    const reloaded = new ChatController(new SessionManager(storage), {
      storage,
      createSocket: () => {
        const fresh = new FakeSocket();
        sockets.push(fresh);
        return fresh as unknown as WebSocket;
      },
    });
    reloaded.start();
    try {
      expect(reloaded.store.getState().outbox[1]?.[0]?.files?.map((f) => f.id)).toEqual(["f1", "f2"]);
      const again = await connect(0);
      expect(sends(again)).toMatchObject([{ body: "", file_ids: ["f1", "f2"] }]);
    } finally {
      reloaded.stop();
    }
  });

  it("marks a refused send failed, keeps it out of resends, and sends it again on Retry", async () => {
    chat.start();
    const socket = await connect(0);
    socket.receive({ type: "error", ref: "w-1", code: "invalid_argument", message: "too long" });
    expect(chat.store.getState().outbox[1]?.[0]).toMatchObject({ state: "failed", error: "too long" });
    socket.drop();
    const again = await connect(0);
    expect(sends(again)).toEqual([]);
    chat.retrySend("w-1");
    expect(sends(again)).toHaveLength(1);
  });
});

describe("ChatController when the server cannot store a send now", () => {
  it("keeps a send answered unavailable pending, says the server has trouble, and sends it again by itself", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      chat.start();
      const socket = await connect(0);
      socket.receive({ type: "error", ref: "w-1", code: "unavailable", message: "a backend service is unavailable; retry shortly" });
      expect(chat.store.getState().outbox[1]?.[0]).toMatchObject({ state: "sending" });
      expect(chat.store.getState().connection.serverTrouble).toBe(true);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(sends(socket).map((f) => f.type === "send" && f.client_msg_id)).toEqual(["w-1", "w-1"]);
      const stored = msg(1, 1, { client_msg_id: "w-1", sender_id: ME.id, body: "written offline" });
      socket.receive({ type: "send_ack", ref: "w-1", message: stored, duplicate: false });
      expect(chat.store.getState().connection.serverTrouble).toBe(false);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(sends(socket)).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("ChatController and reactions", () => {
  const thumbs = (me: boolean) => ({ emoji: "👍", count: 1, user_ids: [ME.id], me });

  /** Answer the next REST call with this status and body; the calls made, as [method, url]. */
  function answer(status: number, body: unknown): string[][] {
    const calls: string[][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([String(init.method), String(url)]);
        return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
      }),
    );
    return calls;
  }

  it("resumes after a reaction frame's change, so the replay does not bring it again", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    const socket = await connect(0);
    socket.receive({ type: "message", room_id: 1, message: msg(1, 1, { change: 1 }) });
    socket.receive({ type: "reaction", room_id: 1, seq: 1, change: 5, user_id: 2, emoji: "👍", added: true, reactions: [] });
    socket.drop();
    await vi.waitFor(() => expect(sockets).toHaveLength(2), { timeout: 5_000 });
    sockets[1]!.onopen?.();
    await vi.waitFor(() => expect(sockets[1]!.sent[0]).toMatchObject({ type: "auth" }));
    expect(sockets[1]!.sent[0]).toMatchObject({ cursors: [{ room_id: 1, after_seq: 1, after_change: 5 }] });
  });

  it("takes my reaction back with DELETE (emoji URL-encoded) and shows the answer", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    const socket = await connect(0);
    socket.receive({ type: "message", room_id: 1, message: msg(1, 1, { change: 1, reactions: [thumbs(true)] }) });
    const calls = answer(200, { message: msg(1, 1, { change: 2, reactions: [] }), changed: true });
    expect(await chat.toggleReaction(1, 1, "👍")).toBeNull();
    expect(calls).toEqual([["DELETE", expect.stringMatching(/\/rooms\/1\/messages\/1\/reactions\/%F0%9F%91%8D$/)]]);
    expect(chat.store.getState().timelines[1]?.messages[0]?.reactions).toEqual([]);
  });

  it("says so when the message has the most different emoji it can take", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    await connect(0);
    const calls = answer(429, { error: { code: "resource_exhausted", message: "at most 20" } });
    expect(await chat.toggleReaction(1, 1, "🎉")).toBe("This message has the most different reactions it can have.");
    expect(calls[0]?.[0]).toBe("PUT");
  });
});

describe("ChatController and operators' actions", () => {
  it("marks a room archived when its room_updated frame says so, and writable again when restored", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    const socket = await connect(0);
    const archivedAt = "2026-12-08T01:00:00Z";
    socket.receive({ type: "room_updated", room_id: 1, room: myRoom(1, { archived_at: archivedAt }).room });
    expect(chat.store.getState().rooms.list[0]?.room.archived_at).toBe(archivedAt);
    socket.receive({ type: "room_updated", room_id: 1, room: myRoom(1, { archived_at: null }).room });
    expect(chat.store.getState().rooms.list[0]?.room.archived_at).toBeNull();
  });

  it("shows a take-down as a taken-down tombstone in place of the message", async () => {
    storage.removeItem(OUTBOX_KEY);
    chat.start();
    const socket = await connect(0);
    socket.receive({ type: "message", room_id: 1, message: msg(1, 1, { change: 1 }) });
    const tombstone = msg(1, 1, { change: 2, body: "", deleted: true, taken_down: true, deleted_by: null });
    socket.receive({ type: "message_deleted", room_id: 1, message: tombstone });
    expect(chat.store.getState().timelines[1]?.messages).toEqual([tombstone]);
  });

  it("marks a send to an archived room failed with the server's reason and does not send it again", async () => {
    chat.start();
    const socket = await connect(0);
    socket.receive({ type: "error", ref: "w-1", code: "room_archived", message: "room 1 is archived: it is read-only" });
    expect(chat.store.getState().outbox[1]?.[0]).toMatchObject({ state: "failed" });
    socket.drop();
    expect(sends(await connect(0))).toEqual([]);
  });
});
