// The chat's effects: the socket, REST calls and timers. Each turns what happened into actions for
// the store (lib/state/), whose reducers hold every rule about how the state changes; what stays
// here is what to ask the server and when. Components call the methods and read the store.

import { ApiClient, ApiError, auth } from "../api";
import { wsUrl } from "../config";
import type { SessionManager } from "../session";
import type { Action } from "../state/actions";
import { mentionsUser, Notifier, notifies } from "../notifications";
import { findPending, IN_ROOM, type Placement } from "../state/outbox";
import { chatReducer, heldMessage, initialChatState, type ChatState } from "../state/root";
import { findRoom, roomTitle } from "../state/rooms";
import { findThread } from "../state/threads";
import { nextTypingExpiry } from "../state/live";
import { reactedWith } from "../reactions";
import { createStore, type Store } from "../store";
import { inMainTimeline } from "../timeline";
import type { FileOut, Invitation, Message, MyRoom, NotificationLevelBody, ReactionFrame, Room, ServerFrame } from "../types";
import { CursorBook } from "../ws/cursors";
import { FileUrls } from "../files/fileUrls";
import { messageText } from "../files/kinds";
import { ChatSocket, type ConnectionStatus } from "../ws/socket";
import type { ChatContext } from "./context";
import { History } from "./history";
import { OutboxStorage } from "./outboxStorage";
import { tooFastSentence } from "../rateLimit";
import { Sending, TRY_AGAIN_CODES } from "./sending";
import { UserLoader } from "./users";

interface Options {
  /** Where the outbox persists (localStorage in a browser). */
  storage?: Storage | null;
  /** Opens the WebSocket (tests pass a fake). */
  createSocket?: (url: string) => WebSocket;
  /** Shows browser notifications (tests pass one over a fake Notification API). */
  notifier?: Notifier;
}

export class ChatController {
  readonly api: ApiClient;
  readonly store: Store<ChatState, Action>;
  readonly notifier: Notifier;
  /** Object URLs of the files on screen (fetched with the token; see files/fileUrls.ts). */
  readonly files: FileUrls;
  private readonly cursors = new CursorBook();
  private readonly socket: ChatSocket;
  private readonly users: UserLoader;
  private readonly saved: OutboxStorage;
  private readonly history: History;
  private readonly sending: Sending;
  private replaying = false;
  private activeRoom: number | null = null;
  private tooFastTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly readSent = new Map<number, number>();
  /** Each room's member ids, fetched when first needed (for @ completion), dropped when someone joins or leaves. */
  private readonly members = new Map<number, Promise<number[]>>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly session: SessionManager,
    { storage = typeof localStorage === "undefined" ? null : localStorage, createSocket, notifier }: Options = {},
  ) {
    this.api = new ApiClient(session);
    this.files = new FileUrls((id, thumbnail) => this.api.fileBlob(id, thumbnail));
    this.notifier = notifier ?? new Notifier();
    const me = session.user;
    this.store = createStore(chatReducer, initialChatState(me));
    this.saved = new OutboxStorage(storage, me?.id ?? 0);
    this.users = new UserLoader({
      fetch: (ids) => this.api.users(ids),
      known: (id) => id in this.state.users.byId,
      loaded: (users) => this.dispatch({ type: "users/loaded", users }),
    });
    this.socket = new ChatSocket({
      url: wsUrl,
      session,
      createSocket,
      events: {
        frame: (frame) => this.onFrame(frame),
        status: (status, detail) => this.onStatus(status, detail),
        cursors: () => this.cursors.cursors(),
        signedOut: (reason) => this.onSignedOut(reason),
      },
    });
    const context: ChatContext = {
      api: this.api,
      state: () => this.state,
      dispatch: (action) => this.dispatch(action),
      cursors: this.cursors,
      users: this.users,
    };
    this.history = new History(context);
    this.sending = new Sending(context, this.socket);
  }

  private get state(): ChatState {
    return this.store.getState();
  }

  /** Every change goes through here, so that each one of the outbox is also persisted. */
  private dispatch(action: Action): void {
    const before = this.state.outbox;
    this.store.dispatch(action);
    if (action.type !== "outbox/restored") this.saved.persist(before, this.state.outbox);
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  start(): void {
    // Sends written before a reload (or in another tab) show as pending and go out after catch-up.
    this.dispatch({ type: "outbox/restored", items: this.saved.load() });
    this.unwatch = this.saved.watch((items) => this.dispatch({ type: "outbox/restored", items }));
    this.socket.start();
    this.api.myRooms().then(
      (rooms) => this.setRooms(rooms),
      () => undefined, // the ready frame brings them too
    );
  }

  stop(): void {
    this.socket.stop();
    this.unwatch?.();
    this.unwatch = null;
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    this.users.stop();
    this.sending.stop();
    this.files.clear();
  }

  /** Sign out: close the socket, revoke the session at the gateway, forget the tokens and unsent messages. */
  async signOut(): Promise<void> {
    const signedIn = this.session.signedIn;
    this.stop();
    this.saved.clear();
    if (signedIn) {
      await this.session.settled(); // a refresh in flight would spend the token we are revoking
      const token = this.session.signedIn?.session.refresh_token ?? signedIn.session.refresh_token;
      await auth.logout(token).catch(() => undefined);
    }
    this.session.clear();
  }

  // -- socket events -----------------------------------------------------------------------------

  private onStatus(status: ConnectionStatus, detail: string): void {
    if ((status === "offline" || status === "connecting") && this.replaying) {
      this.cursors.abortReplay();
      this.replaying = false;
    }
    this.dispatch({ type: "connection/status", status, detail });
  }

  private onSignedOut(reason: string): void {
    this.dispatch({ type: "session/signedOut", reason }); // before clear(): its listeners read the reason
    this.session.clear();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "ready":
        this.replaying = true;
        this.cursors.beginReplay();
        this.setRooms(frame.rooms);
        if (frame.more_rooms) void this.refreshRooms(); // the ready frame carries the first page only
        void this.refreshInvitations();
        void this.refreshBlocked();
        return;
      case "invitation":
        this.users.ensure([frame.invitation.inviter_id]);
        this.dispatch({ type: "invitation/changed", invitation: frame.invitation, pending: frame.state === "pending" });
        return;
      case "caught_up":
        this.cursors.endReplay();
        this.replaying = false;
        this.afterCatchUp();
        return;
      case "message":
        this.onMessage(frame.message);
        return;
      case "message_edited": // shared by every socket: its reactions' `me` is false
        this.onChange(frame.message, true);
        return;
      case "message_updated": // on resume: a message's newest state (edits, reactions)
      case "message_deleted":
        this.onChange(frame.message);
        return;
      case "reaction":
        this.onReaction(frame);
        return;
      case "typing":
        this.onTyping(frame.room_id, frame.user_id, Date.parse(frame.expires_at));
        return;
      case "presence":
        this.users.ensure([frame.user_id]);
        this.dispatch({ type: "presence/changed", roomId: frame.room_id, userId: frame.user_id, online: frame.online });
        return;
      case "member_joined":
      case "member_left":
        this.onMembership(frame.type === "member_joined", frame.room_id, frame.user_id);
        return;
      case "read_marker":
      case "read_ack":
        this.dispatch({
          type: "read/marked",
          roomId: frame.room_id,
          lastReadSeq: frame.last_read_seq,
          unreadCount: frame.unread_count,
          mentionCount: frame.mention_count,
        });
        return;
      case "thread_updated":
        this.cursors.observeRoomChange(frame.room_id, frame.change);
        this.users.ensure(frame.thread.participant_ids);
        this.dispatch({ type: "thread/summary", roomId: frame.room_id, rootSeq: frame.root_seq, change: frame.change, thread: frame.thread });
        return;
      case "member_settings":
        this.dispatch({ type: "room/notificationLevel", roomId: frame.room_id, level: frame.notification_level });
        return;
      case "room_updated":
        this.onRoomUpdated(frame.room);
        return;
      case "role_changed":
        if (frame.member.user_id === this.state.users.me?.id) {
          this.dispatch({ type: "room/myRole", roomId: frame.room_id, role: frame.member.role });
        }
        return;
      case "send_ack":
        this.sending.forgetRetry(frame.message.client_msg_id);
        if (this.state.connection.tooFast) this.dispatch({ type: "server/tooFast", sentence: null });
        if (this.state.connection.serverTrouble) this.dispatch({ type: "server/trouble", trouble: false });
        this.dispatch({ type: "outbox/confirmed", clientMsgId: frame.message.client_msg_id });
        // The message frame normally comes too; this covers a frame lost with a dropped socket.
        this.onMessage(frame.message);
        return;
      case "replay_started":
        this.cursors.skipTo(frame.room_id, frame.after_seq);
        this.dispatch({
          type: "timeline/replayStarted",
          roomId: frame.room_id,
          cursorSeq: frame.cursor_seq,
          afterSeq: frame.after_seq,
        });
        return;
      case "error":
        if (typeof frame.retry_after_ms === "number" && frame.ref) {
          // A rate limit: say so, and a send goes again by itself once it may.
          this.tooFast(frame.retry_after_ms);
          if (findPending(this.state.outbox, frame.ref)) this.sending.retryLater(frame.ref, frame.retry_after_ms);
          return;
        }
        if (!frame.ref || !findPending(this.state.outbox, frame.ref)) return;
        if (TRY_AGAIN_CODES.has(frame.code)) {
          // Not the person's doing: it stays "sending…" and goes again by itself.
          this.dispatch({ type: "server/trouble", trouble: true });
          this.sending.retryLater(frame.ref);
        } else {
          this.dispatch({ type: "outbox/failed", clientMsgId: frame.ref, error: frame.message });
        }
        return;
      default:
        return; // typing_ack, reauth_ack, pong: nothing to show
    }
  }

  /** Show the rate limit's sentence until it has passed (or a send is accepted). */
  private tooFast(retryAfterMs: number): void {
    this.dispatch({ type: "server/tooFast", sentence: tooFastSentence(retryAfterMs) });
    if (this.tooFastTimer) clearTimeout(this.tooFastTimer);
    this.tooFastTimer = setTimeout(() => this.dispatch({ type: "server/tooFast", sentence: null }), retryAfterMs);
  }

  private afterCatchUp(): void {
    this.sending.resendAll();
    this.users.retryMissed();
    if (this.activeRoom !== null) {
      void this.history.loadPresence(this.activeRoom);
      this.markRead(this.activeRoom);
    }
  }

  private onMessage(message: Message): void {
    const fresh = this.cursors.observeMessage(message);
    const me = this.state.users.me?.id;
    const mine = message.sender_id === me;
    const visible = this.isVisible(message.room_id);
    const live = !mine && !this.replaying;
    const main = inMainTimeline(message);
    const mentioned = mentionsUser(message, me);
    const author = this.state.users.byId[message.sender_id]?.username ?? "someone";
    const where = main ? "" : " in a thread";
    this.dispatch({
      type: "message/received",
      message,
      fresh: fresh !== "duplicate",
      unread: live && !visible && main,
      mention: live && !visible && mentioned,
      announce: live && message.room_id === this.activeRoom ? `${author}${where}: ${messageText(message)}` : null,
    });
    if (fresh === "duplicate") return;
    if (fresh === "gap") void this.history.fillGap(message.room_id);
    this.users.ensure([message.sender_id]);
    if (live && !visible) this.notify(message, author, mentioned, main);
    if (visible) this.markRead(message.room_id);
  }

  /** A browser notification for someone else's message, if the room's level allows it and the tab is hidden. */
  private notify(message: Message, author: string, mentioned: boolean, main: boolean): void {
    const entry = findRoom(this.state.rooms, message.room_id);
    if (!entry || (typeof document !== "undefined" && document.visibilityState === "visible")) return;
    if (!notifies(entry.notification_level, mentioned, main)) return;
    const room = entry.room.kind === "direct" ? "" : ` in #${roomTitle(entry.room, this.state.users)}`;
    const thread = message.thread_root_seq ? `?thread=${message.thread_root_seq}` : "";
    this.notifier.show({
      title: `${author}${room}`,
      body: messageText(message),
      tag: `room-${message.room_id}`,
      path: `/rooms/${message.room_id}${thread}`,
    });
  }

  private onChange(message: Message, shared = false): void {
    const known = heldMessage(this.state, message.room_id, message.seq);
    if (this.cursors.observeChange(message, known)) this.dispatch({ type: "message/changed", message, shared });
  }

  /**
   * A message as a REST answer gave it: shown now, but the resume cursor is left to the socket,
   * since changes to other messages before this one may not have reached us yet.
   */
  private onAnswer(message: Message): void {
    this.dispatch({ type: "message/changed", message });
  }

  private onReaction(reaction: ReactionFrame): void {
    const known = heldMessage(this.state, reaction.room_id, reaction.seq);
    if (!this.cursors.observeChange(reaction, known)) return;
    this.dispatch({ type: "message/reacted", reaction, mine: reaction.user_id === this.state.users.me?.id });
  }

  private onTyping(roomId: number, userId: number, serverExpiry: number): void {
    if (userId === this.state.users.me?.id) return;
    // expires_at is the server's clock: with a skewed local clock, fall back to the usual 6 s.
    const left = serverExpiry - Date.now();
    const expiresAt = Date.now() + (Number.isFinite(left) && left > 0 && left <= 15_000 ? left : 6_000);
    this.users.ensure([userId]);
    this.dispatch({ type: "typing/started", roomId, userId, expiresAt });
    this.scheduleTypingSweep();
  }

  private scheduleTypingSweep(): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    const next = nextTypingExpiry(this.state.live);
    if (next === null) return;
    this.typingTimer = setTimeout(
      () => {
        this.dispatch({ type: "typing/expired", now: Date.now() });
        this.scheduleTypingSweep();
      },
      Math.max(50, next - Date.now() + 20),
    );
  }

  private onMembership(joined: boolean, roomId: number, userId: number): void {
    this.members.delete(roomId);
    if (userId === this.state.users.me?.id) {
      if (joined) void this.refreshRooms();
      else this.removeRoom(roomId);
      return;
    }
    this.users.ensure([userId]);
    this.dispatch({ type: "member/changed", roomId, userId, joined });
  }

  // -- rooms -------------------------------------------------------------------------------------

  private setRooms(rooms: MyRoom[]): void {
    for (const entry of rooms) this.cursors.track(entry.room.id, entry.room.last_seq, entry.room.last_change);
    this.users.ensure(rooms.flatMap((r) => r.room.direct_user_ids));
    this.dispatch({ type: "rooms/loaded", rooms });
  }

  /** Fetch my pending invitations again (on every ready: frames sent while away are not replayed). */
  async refreshInvitations(): Promise<void> {
    try {
      const invitations = await this.api.invitations();
      this.users.ensure(invitations.flatMap((i) => [i.inviter_id, ...i.room.direct_user_ids]));
      this.dispatch({ type: "invitations/loaded", invitations });
    } catch {
      // keep what we have; the next ready frame asks again
    }
  }

  /** Say yes to an invitation: the room joins my list (its member_joined frame follows). */
  async acceptInvitation(invitation: Invitation): Promise<Room> {
    const room = await this.api.acceptInvitation(invitation.room.id);
    this.dispatch({ type: "invitation/changed", invitation, pending: false });
    this.addRoom(room);
    return room;
  }

  private async refreshBlocked(): Promise<void> {
    try {
      const userIds = (await this.api.blocked()).map((b) => b.user_id);
      this.users.ensure(userIds);
      this.dispatch({ type: "blocked/set", userIds });
    } catch {
      // keep what we have
    }
  }

  /** Block someone (they can no longer message or invite me; their invitations go), or unblock them. */
  async setBlocked(userId: number, blocked: boolean): Promise<void> {
    if (blocked) await this.api.block(userId);
    else await this.api.unblock(userId);
    const others = this.state.rooms.blocked.filter((id) => id !== userId);
    this.dispatch({ type: "blocked/set", userIds: blocked ? [userId, ...others] : others });
    if (blocked) void this.refreshInvitations();
  }

  /** Say no to an invitation: nobody can invite me to that room again. */
  async declineInvitation(invitation: Invitation): Promise<void> {
    await this.api.declineInvitation(invitation.room.id);
    this.dispatch({ type: "invitation/changed", invitation, pending: false });
  }

  /** Fetch my rooms again (after creating, joining or being added to one). */
  async refreshRooms(): Promise<void> {
    try {
      this.setRooms(await this.api.myRooms());
    } catch {
      // keep what we have; the next ready frame brings the list again
    }
  }

  private onRoomUpdated(room: Room): void {
    if (findRoom(this.state.rooms, room.id)) this.dispatch({ type: "room/updated", room });
    else void this.refreshRooms(); // a room I was just added to
  }

  /** A room as a REST answer gave it (after changing its settings): shown now, before the room_updated frame. */
  applyRoom(room: Room): void {
    this.onRoomUpdated(room);
  }

  /** The ids of a room's members (the first 200: enough to complete @names), their names loaded. */
  roomMembers(roomId: number): Promise<number[]> {
    let ids = this.members.get(roomId);
    if (!ids) {
      ids = this.api.members(roomId).then(
        (page) => {
          const found = page.members.map((m) => m.user_id);
          this.users.ensure(found);
          return found;
        },
        () => {
          this.members.delete(roomId); // try again next time
          return [];
        },
      );
      this.members.set(roomId, ids);
    }
    return ids;
  }

  /** Load the names of these users if they are not known yet. */
  ensureUsers(ids: number[]): void {
    this.users.ensure(ids);
  }

  /** A room I just created, joined or opened a direct conversation in. */
  addRoom(room: Room, role: MyRoom["role"] = "member"): void {
    this.cursors.track(room.id, room.last_seq, room.last_change);
    this.users.ensure(room.direct_user_ids);
    this.dispatch({ type: "room/added", room, role });
  }

  private removeRoom(roomId: number): void {
    this.cursors.forget(roomId);
    this.dispatch({ type: "room/removed", roomId });
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
    if (!this.state.timelines[roomId]?.loaded) {
      void this.history.loadNewest(roomId).then((loaded) => loaded && this.markRead(roomId));
    }
    void this.history.loadPresence(roomId);
    this.markRead(roomId);
  }

  private isVisible(roomId: number): boolean {
    return (
      roomId === this.activeRoom && (typeof document === "undefined" || document.visibilityState === "visible")
    );
  }

  /** Move my read marker to the newest message of a room I am looking at. */
  markRead(roomId: number): void {
    const newest = this.state.timelines[roomId]?.messages.at(-1)?.seq ?? 0;
    const entry = findRoom(this.state.rooms, roomId);
    const target = Math.max(newest, entry?.room.last_seq ?? 0);
    if (!entry || target === 0 || (entry.last_read_seq >= target && entry.unread_count === 0)) return;
    if ((this.readSent.get(roomId) ?? 0) >= target) return;
    if (this.socket.send({ type: "read", ref: this.socket.nextRef("r"), room_id: roomId, seq: target })) {
      this.readSent.set(roomId, target);
    }
  }

  // -- sending ---------------------------------------------------------------------------------

  /** Post a message: shown at once as pending (and kept across reloads), resent until confirmed. */
  send = (roomId: number, body: string, placement: Placement = IN_ROOM, files: readonly FileOut[] = []): void =>
    this.sending.send(roomId, body, placement, files);
  retrySend = (clientMsgId: string): void => this.sending.retry(clientMsgId);
  discardSend = (clientMsgId: string): void => this.sending.discard(clientMsgId);
  typing = (roomId: number): void => this.sending.typing(roomId);
  loadOlder = (roomId: number): Promise<void> => this.history.loadOlder(roomId);
  loadOlderThread = (roomId: number, rootSeq: number): Promise<void> => this.history.loadOlderThread(roomId, rootSeq);
  /** Jump to a message (a search hit): history around it joins the timeline; then newer, at the hole. */
  loadAround = (roomId: number, seq: number): Promise<void> => this.history.loadAround(roomId, seq);
  loadNewer = (roomId: number): Promise<void> => this.history.loadNewer(roomId);

  /** A thread opened in the side panel: fetched the first time (live frames keep it current after). */
  openThread(roomId: number, rootSeq: number): void {
    if (!findThread(this.state.threads, roomId, rootSeq)?.loaded) void this.history.loadThread(roomId, rootSeq);
  }

  /** My notification level in a room, for all my devices (they hear it as member_settings). */
  async setNotificationLevel(roomId: number, level: NotificationLevelBody["level"]): Promise<void> {
    const stored = await this.api.setNotificationLevel(roomId, level);
    this.dispatch({ type: "room/notificationLevel", roomId, level: stored });
  }

  async edit(roomId: number, seq: number, body: string): Promise<void> {
    this.onAnswer(await this.api.edit(roomId, seq, body));
  }

  async remove(roomId: number, seq: number): Promise<void> {
    this.onAnswer(await this.api.remove(roomId, seq));
  }

  /** Add my reaction with this emoji, or remove it if I have it; the sentence to show when that failed. */
  async toggleReaction(roomId: number, seq: number, emoji: string): Promise<string | null> {
    const mine = reactedWith(heldMessage(this.state, roomId, seq), emoji);
    try {
      const answer = await (mine ? this.api.unreact : this.api.react)(roomId, seq, emoji);
      this.onAnswer(answer.message);
      return null;
    } catch (caught) {
      if (!(caught instanceof ApiError)) return "That did not work.";
      if (caught.code === "resource_exhausted") return "This message has the most different reactions it can have.";
      return caught.message;
    }
  }
}
