// The chat client's state and what changes it: socket frames, REST answers and user actions.
// Components read immutable snapshots (useSyncExternalStore) and call the action methods.

import { ApiClient, ApiError, auth } from "./api";
import { wsUrl } from "./config";
import type { SessionManager } from "./session";
import { mergeMessages } from "./timeline";
import type { Message, MyRoom, Room, ServerFrame, User } from "./types";
import { CursorBook } from "./ws/cursors";
import { Outbox, type PendingSend } from "./ws/outbox";
import { ChatSocket, type ConnectionStatus } from "./ws/socket";

export interface Timeline {
  messages: Message[];
  /** The newest page was fetched (before that only live messages are held). */
  loaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  error: string | null;
}

export interface ChatState {
  me: User | null;
  status: ConnectionStatus;
  statusDetail: string;
  /** The socket has been live at least once (the banner shows only after that or on failure). */
  everLive: boolean;
  rooms: MyRoom[];
  roomsLoaded: boolean;
  users: Readonly<Record<number, User>>;
  timelines: Readonly<Record<number, Timeline>>;
  pending: Readonly<Record<number, PendingSend[]>>;
  /** room -> user -> expiry (ms since epoch). */
  typing: Readonly<Record<number, Readonly<Record<number, number>>>>;
  /** room -> online user ids. */
  presence: Readonly<Record<number, number[]>>;
  /** The latest thing to announce to screen readers. */
  announcement: string;
  signedOutReason: string | null;
}

const EMPTY_TIMELINE: Timeline = { messages: [], loaded: false, hasOlder: true, loadingOlder: false, error: null };
const TYPING_EVERY_MS = 3_000;

function initialState(me: User | null): ChatState {
  return {
    me,
    status: "connecting",
    statusDetail: "",
    everLive: false,
    rooms: [],
    roomsLoaded: false,
    users: me ? { [me.id]: me } : {},
    timelines: {},
    pending: {},
    typing: {},
    presence: {},
    announcement: "",
    signedOutReason: null,
  };
}

/** The name to show for a room: a direct conversation is named after the other person. */
export function roomTitle(room: Room, state: Pick<ChatState, "me" | "users">): string {
  if (room.kind !== "direct") return room.name;
  const other = room.direct_user_ids.find((id) => id !== state.me?.id) ?? state.me?.id;
  return other !== undefined ? (state.users[other]?.username ?? `user ${other}`) : room.name;
}

export class ChatStore {
  readonly api: ApiClient;
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly cursors = new CursorBook();
  private readonly outbox = new Outbox();
  private readonly socket: ChatSocket;
  private replaying = false;
  private activeRoom: number | null = null;
  private readonly typingSentAt = new Map<number, number>();
  private readonly readSent = new Map<number, number>();
  private readonly wantedUsers = new Set<number>();
  private readonly missedUsers = new Set<number>();
  private userTimer: ReturnType<typeof setTimeout> | null = null;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly filling = new Set<number>();

  constructor(private readonly session: SessionManager) {
    this.api = new ApiClient(session);
    this.state = initialState(session.user);
    this.socket = new ChatSocket({
      url: wsUrl,
      session,
      events: {
        frame: (frame) => this.onFrame(frame),
        status: (status, detail) => this.onStatus(status, detail),
        cursors: () => this.cursors.cursors(),
        signedOut: (reason) => this.onSignedOut(reason),
      },
    });
  }

  // -- subscription ------------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ChatState => this.state;

  private update(change: Partial<ChatState> | ((state: ChatState) => Partial<ChatState>)): void {
    const patch = typeof change === "function" ? change(this.state) : change;
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  start(): void {
    this.socket.start();
    this.api.myRooms().then(
      (rooms) => this.setRooms(rooms),
      () => undefined, // the ready frame brings them too
    );
  }

  stop(): void {
    this.socket.stop();
    if (this.userTimer !== null) clearTimeout(this.userTimer);
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.userTimer = this.typingTimer = null;
    this.wantedUsers.clear();
  }

  /** Sign out: close the socket, revoke the session at the gateway, forget the tokens. */
  async signOut(): Promise<void> {
    const signedIn = this.session.signedIn;
    this.stop();
    if (signedIn) {
      await this.session.settled(); // a refresh in flight would spend the token we are revoking
      const token = this.session.signedIn?.session.refresh_token ?? signedIn.session.refresh_token;
      await auth.logout(token).catch(() => undefined);
    }
    this.session.clear();
  }

  // -- socket events -----------------------------------------------------------------------------

  private onStatus(status: ConnectionStatus, detail: string): void {
    if (status === "offline" || status === "connecting") {
      if (this.replaying) this.cursors.abortReplay();
      this.replaying = false;
    }
    this.update((s) => ({
      status,
      statusDetail: detail,
      everLive: s.everLive || status === "live",
      // Ephemeral state is stale once the connection drops; it is rebuilt after the next catch-up.
      typing: status === "offline" ? {} : s.typing,
      presence: status === "offline" ? {} : s.presence,
    }));
  }

  private onSignedOut(reason: string): void {
    this.update({ signedOutReason: reason }); // before clear(): its listeners read the reason
    this.session.clear();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "ready":
        this.replaying = true;
        this.cursors.beginReplay();
        this.setRooms(frame.rooms);
        return;
      case "caught_up":
        this.cursors.endReplay();
        this.replaying = false;
        this.afterCatchUp();
        return;
      case "message":
        this.onMessage(frame.message);
        return;
      case "message_edited":
      case "message_deleted":
        this.onChange(frame.message);
        return;
      case "typing":
        this.onTyping(frame.room_id, frame.user_id, Date.parse(frame.expires_at));
        return;
      case "presence":
        this.setPresence(frame.room_id, frame.user_id, frame.online);
        return;
      case "member_joined":
      case "member_left":
        this.onMembership(frame.type, frame.room_id, frame.user_id);
        return;
      case "read_marker":
        this.setRead(frame.room_id, frame.last_read_seq);
        return;
      case "room_updated":
        this.upsertRoom(frame.room);
        return;
      case "ack":
        this.onAck(frame);
        return;
      case "error":
        if (frame.ref && this.outbox.get(frame.ref)) {
          this.outbox.fail(frame.ref, frame.message);
          this.syncPending();
        }
        return;
      default:
        return;
    }
  }

  private afterCatchUp(): void {
    for (const item of this.outbox.toResend()) this.sendFrame(item);
    this.ensureUsers([...this.missedUsers]);
    this.missedUsers.clear();
    if (this.activeRoom !== null) {
      void this.loadPresence(this.activeRoom);
      this.markRead(this.activeRoom);
    }
  }

  private onMessage(message: Message): void {
    const seen = this.cursors.observeMessage(message);
    const mine = message.sender_id === this.state.me?.id;
    if (mine && this.outbox.confirm(message.client_msg_id)) this.syncPending();
    this.insertMessages(message.room_id, [message]);
    if (seen === "duplicate") return;
    if (seen === "gap") void this.fillGap(message.room_id);
    this.ensureUsers([message.sender_id]);
    const visible = this.isVisible(message.room_id);
    this.update((s) => {
      const rooms = [...s.rooms];
      const index = rooms.findIndex((r) => r.room.id === message.room_id);
      if (index >= 0) {
        const entry = rooms[index]!;
        const unread = !mine && !visible && !this.replaying ? entry.unread_count + 1 : entry.unread_count;
        const room = { ...entry.room, last_seq: Math.max(entry.room.last_seq, message.seq) };
        rooms.splice(index, 1);
        rooms.unshift({ ...entry, room, unread_count: unread });
      }
      const typing = { ...s.typing };
      if (typing[message.room_id]?.[message.sender_id]) {
        const roomTyping = { ...typing[message.room_id] };
        delete roomTyping[message.sender_id];
        typing[message.room_id] = roomTyping;
      }
      const author = s.users[message.sender_id]?.username ?? "someone";
      const announcement =
        !mine && message.room_id === this.activeRoom && !this.replaying ? `${author}: ${message.body}` : s.announcement;
      return { rooms, typing, announcement };
    });
    if (visible) this.markRead(message.room_id);
  }

  private onChange(message: Message): void {
    const known = this.state.timelines[message.room_id]?.messages.find((m) => m.seq === message.seq);
    if (!this.cursors.observeChange(message, known)) return;
    this.insertMessages(message.room_id, [message]);
  }

  private onAck(frame: Extract<ServerFrame, { type: "ack" }>): void {
    const message = frame.message as Message | undefined;
    if (message && typeof message.seq === "number") {
      this.outbox.confirm(frame.ref);
      this.syncPending();
      // The message frame normally comes too; this covers a frame lost with a dropped socket.
      this.onMessage(message);
      return;
    }
    if (typeof frame.room_id === "number" && typeof frame.last_read_seq === "number") {
      // The server's unread_count is as of that read; messages that came since are counted here.
      this.setRead(frame.room_id, frame.last_read_seq);
    }
  }

  private onTyping(roomId: number, userId: number, serverExpiry: number): void {
    if (userId === this.state.me?.id) return;
    // expires_at is the server's clock: with a skewed local clock, fall back to the usual 6 s.
    const left = serverExpiry - Date.now();
    const expires = Date.now() + (Number.isFinite(left) && left > 0 && left <= 15_000 ? left : 6_000);
    this.ensureUsers([userId]);
    this.update((s) => ({ typing: { ...s.typing, [roomId]: { ...s.typing[roomId], [userId]: expires } } }));
    this.scheduleTypingSweep();
  }

  private scheduleTypingSweep(): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    const expiries = Object.values(this.state.typing).flatMap((room) => Object.values(room));
    if (expiries.length === 0) return;
    const next = Math.min(...expiries);
    this.typingTimer = setTimeout(
      () => {
        const now = Date.now();
        const typing: Record<number, Record<number, number>> = {};
        for (const [roomId, users] of Object.entries(this.state.typing)) {
          const left = Object.fromEntries(Object.entries(users).filter(([, at]) => at > now));
          if (Object.keys(left).length > 0) typing[Number(roomId)] = left;
        }
        this.update({ typing });
        this.scheduleTypingSweep();
      },
      Math.max(50, next - Date.now() + 20),
    );
  }

  private onMembership(kind: "member_joined" | "member_left", roomId: number, userId: number): void {
    if (userId === this.state.me?.id) {
      if (kind === "member_joined") void this.refreshRooms();
      else this.removeRoom(roomId);
      return;
    }
    this.ensureUsers([userId]);
    this.update((s) => ({
      rooms: s.rooms.map((r) =>
        r.room.id === roomId
          ? { ...r, room: { ...r.room, member_count: Math.max(0, r.room.member_count + (kind === "member_joined" ? 1 : -1)) } }
          : r,
      ),
    }));
    if (kind === "member_left") this.setPresence(roomId, userId, false);
  }

  // -- rooms -------------------------------------------------------------------------------------

  private setRooms(rooms: MyRoom[]): void {
    for (const entry of rooms) this.cursors.track(entry.room.id, entry.room.last_seq, entry.room.last_change);
    this.ensureUsers(rooms.flatMap((r) => r.room.direct_user_ids));
    this.update({ rooms, roomsLoaded: true });
  }

  /** Fetch my rooms again (after creating, joining or being added to one). */
  async refreshRooms(): Promise<void> {
    try {
      this.setRooms(await this.api.myRooms());
    } catch {
      // keep what we have; the next ready frame brings the list again
    }
  }

  private upsertRoom(room: Room): void {
    this.update((s) => {
      const exists = s.rooms.some((r) => r.room.id === room.id);
      if (!exists) return {};
      return { rooms: s.rooms.map((r) => (r.room.id === room.id ? { ...r, room: { ...room } } : r)) };
    });
    if (!this.state.rooms.some((r) => r.room.id === room.id)) void this.refreshRooms();
  }

  /** A room I just created, joined or opened a direct conversation in. */
  addRoom(room: Room, role: MyRoom["role"] = "member"): void {
    this.cursors.track(room.id, room.last_seq, room.last_change);
    this.ensureUsers(room.direct_user_ids);
    this.update((s) =>
      s.rooms.some((r) => r.room.id === room.id)
        ? {}
        : { rooms: [{ room, last_read_seq: room.last_seq, unread_count: 0, role }, ...s.rooms] },
    );
  }

  private removeRoom(roomId: number): void {
    this.cursors.forget(roomId);
    this.update((s) => ({ rooms: s.rooms.filter((r) => r.room.id !== roomId) }));
  }

  async leave(roomId: number): Promise<void> {
    await this.api.leave(roomId);
    this.removeRoom(roomId);
  }

  // -- the open conversation ---------------------------------------------------------------------

  /** The conversation on screen (null when none): loads its history and presence, marks it read. */
  setActiveRoom(roomId: number | null): void {
    this.activeRoom = roomId;
    if (roomId === null) return;
    const timeline = this.state.timelines[roomId];
    if (!timeline?.loaded) void this.loadNewest(roomId);
    void this.loadPresence(roomId);
    this.markRead(roomId);
  }

  private isVisible(roomId: number): boolean {
    return (
      roomId === this.activeRoom && (typeof document === "undefined" || document.visibilityState === "visible")
    );
  }

  private setTimeline(roomId: number, change: (t: Timeline) => Partial<Timeline>): void {
    this.update((s) => {
      const current = s.timelines[roomId] ?? EMPTY_TIMELINE;
      return { timelines: { ...s.timelines, [roomId]: { ...current, ...change(current) } } };
    });
  }

  private insertMessages(roomId: number, messages: Message[]): void {
    const current = this.state.timelines[roomId]?.messages ?? [];
    const merged = mergeMessages(current, messages);
    if (merged !== current || !this.state.timelines[roomId]) this.setTimeline(roomId, () => ({ messages: merged }));
  }

  private async loadNewest(roomId: number): Promise<void> {
    try {
      const page = await this.api.messagesBefore(roomId);
      this.ensureUsers(page.messages.map((m) => m.sender_id));
      this.setTimeline(roomId, (t) => ({
        messages: mergeMessages(t.messages, page.messages),
        loaded: true,
        hasOlder: page.has_more,
        error: null,
      }));
      this.markRead(roomId);
    } catch (error) {
      this.setTimeline(roomId, () => ({ error: error instanceof ApiError ? error.message : "Could not load messages." }));
    }
  }

  /** Older history, when the reader scrolls up. */
  async loadOlder(roomId: number): Promise<void> {
    const timeline = this.state.timelines[roomId];
    if (!timeline?.loaded || !timeline.hasOlder || timeline.loadingOlder) return;
    const oldest = timeline.messages[0]?.seq;
    if (oldest === undefined || oldest <= 1) {
      this.setTimeline(roomId, () => ({ hasOlder: false }));
      return;
    }
    this.setTimeline(roomId, () => ({ loadingOlder: true }));
    try {
      const page = await this.api.messagesBefore(roomId, oldest);
      this.ensureUsers(page.messages.map((m) => m.sender_id));
      this.setTimeline(roomId, (t) => ({
        messages: mergeMessages(t.messages, page.messages),
        hasOlder: page.has_more,
        loadingOlder: false,
      }));
    } catch (error) {
      this.setTimeline(roomId, () => ({
        loadingOlder: false,
        error: error instanceof ApiError ? error.message : "Could not load older messages.",
      }));
    }
  }

  /** A message arrived past a gap: fetch what is missing after the last contiguous seq. */
  private async fillGap(roomId: number): Promise<void> {
    if (this.filling.has(roomId)) return;
    this.filling.add(roomId);
    try {
      for (let round = 0; round < 20; round += 1) {
        const page = await this.api.messagesAfter(roomId, this.cursors.lastSeq(roomId));
        for (const message of page.messages) this.cursors.observeMessage(message);
        this.insertMessages(roomId, page.messages);
        if (!page.has_more) break;
      }
    } catch {
      // the next reconnect resumes from the cursor anyway
    } finally {
      this.filling.delete(roomId);
    }
  }

  private async loadPresence(roomId: number): Promise<void> {
    try {
      const presence = await this.api.presence(roomId);
      this.ensureUsers(presence.online);
      this.update((s) => ({ presence: { ...s.presence, [roomId]: presence.online } }));
    } catch {
      // presence is best effort
    }
  }

  private setPresence(roomId: number, userId: number, online: boolean): void {
    this.ensureUsers([userId]);
    this.update((s) => {
      const current = s.presence[roomId] ?? [];
      const next = online
        ? current.includes(userId)
          ? current
          : [...current, userId].sort((a, b) => a - b)
        : current.filter((id) => id !== userId);
      return { presence: { ...s.presence, [roomId]: next } };
    });
  }

  /** Move my read marker to the newest message of a room I am looking at. */
  markRead(roomId: number): void {
    const newest = this.state.timelines[roomId]?.messages.at(-1)?.seq ?? 0;
    const entry = this.state.rooms.find((r) => r.room.id === roomId);
    const target = Math.max(newest, entry?.room.last_seq ?? 0);
    if (!entry || target === 0 || (entry.last_read_seq >= target && entry.unread_count === 0)) return;
    if ((this.readSent.get(roomId) ?? 0) >= target) return;
    if (this.socket.send({ type: "read", ref: this.socket.nextRef("r"), room_id: roomId, seq: target })) {
      this.readSent.set(roomId, target);
    }
  }

  private setRead(roomId: number, lastRead: number): void {
    this.update((s) => ({
      rooms: s.rooms.map((r) =>
        r.room.id === roomId
          ? {
              ...r,
              last_read_seq: Math.max(r.last_read_seq, lastRead),
              unread_count: lastRead >= r.room.last_seq ? 0 : r.unread_count,
            }
          : r,
      ),
    }));
  }

  // -- sending -----------------------------------------------------------------------------------

  /** Post a message: shown at once as pending, confirmed by the ack, resent after a reconnect. */
  send(roomId: number, body: string): void {
    const item = this.outbox.add(roomId, body);
    this.syncPending();
    this.sendFrame(item);
    this.typingSentAt.delete(roomId);
  }

  private sendFrame(item: PendingSend): void {
    this.socket.send({
      type: "send",
      ref: item.clientMsgId,
      room_id: item.roomId,
      client_msg_id: item.clientMsgId,
      body: item.body,
    });
  }

  retrySend(clientMsgId: string): void {
    const item = this.outbox.retry(clientMsgId);
    this.syncPending();
    if (item) this.sendFrame(item);
  }

  discardSend(clientMsgId: string): void {
    this.outbox.discard(clientMsgId);
    this.syncPending();
  }

  private syncPending(): void {
    const rooms = new Set([...Object.keys(this.state.pending).map(Number), ...this.outbox.all().map((i) => i.roomId)]);
    const pending: Record<number, PendingSend[]> = {};
    for (const roomId of rooms) pending[roomId] = this.outbox.forRoom(roomId);
    this.update({ pending });
  }

  /** I am typing in a room: tell the others, at most every few seconds. */
  typing(roomId: number): void {
    const now = Date.now();
    if (now - (this.typingSentAt.get(roomId) ?? 0) < TYPING_EVERY_MS) return;
    if (this.socket.send({ type: "typing", room_id: roomId })) this.typingSentAt.set(roomId, now);
  }

  async edit(roomId: number, seq: number, body: string): Promise<void> {
    const message = await this.api.edit(roomId, seq, body);
    this.onChange(message);
  }

  async remove(roomId: number, seq: number): Promise<void> {
    const message = await this.api.remove(roomId, seq);
    this.onChange(message);
  }

  // -- people ------------------------------------------------------------------------------------

  /** Make sure these users' names are known (batched lookups). */
  ensureUsers(ids: number[]): void {
    let added = false;
    for (const id of ids) {
      if (id > 0 && !this.state.users[id] && !this.wantedUsers.has(id)) {
        this.wantedUsers.add(id);
        added = true;
      }
    }
    if (!added || this.userTimer !== null) return;
    this.userTimer = setTimeout(() => void this.flushUsers(), 30);
  }

  private async flushUsers(): Promise<void> {
    this.userTimer = null;
    const ids = [...this.wantedUsers].slice(0, 100);
    try {
      const users = await this.api.users(ids);
      this.update((s) => ({ users: { ...s.users, ...Object.fromEntries(users.map((u) => [u.id, u])) } }));
    } catch {
      // names fall back to "user N" until the next catch-up retries them
      for (const id of ids) this.missedUsers.add(id);
    }
    for (const id of ids) this.wantedUsers.delete(id);
    if (this.wantedUsers.size > 0) this.userTimer = setTimeout(() => void this.flushUsers(), 30);
  }
}
