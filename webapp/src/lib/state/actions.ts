// Everything that can change the chat state, as plain data. Effects (socket, REST, timers) create
// these; the slices' reducers react to the ones they care about, so one event can touch several
// slices (a new message moves its room up, lands in the timeline, ends its author's typing notice
// and confirms my pending send) without the effect code knowing about each of them.

import type {
  Invitation,
  Message,
  MessagePage,
  MyRoom,
  NotificationLevel,
  ReactionFrame,
  Role,
  Room,
  ThreadSummary,
  User,
} from "../types";
import type { ConnectionStatus } from "../ws/socket";
import type { PendingSend } from "./outbox";

export type Action =
  // connection
  | { type: "connection/status"; status: ConnectionStatus; detail: string }
  | { type: "session/signedOut"; reason: string }
  /** Sends are answered "try again" (the server cannot store them right now), or stored again. */
  | { type: "server/trouble"; trouble: boolean }
  | { type: "server/tooFast"; sentence: string | null }
  // rooms
  | { type: "rooms/loaded"; rooms: MyRoom[] }
  /** My pending invitations, as GET /invitations gave them. */
  | { type: "invitations/loaded"; invitations: Invitation[] }
  /** An invitation frame: pending adds it, anything else takes it away. */
  | { type: "invitation/changed"; invitation: Invitation; pending: boolean }
  /** The users I blocked, most recent first. */
  | { type: "blocked/set"; userIds: number[] }
  | { type: "room/added"; room: Room; role: Role }
  | { type: "room/updated"; room: Room }
  | { type: "room/removed"; roomId: number }
  | { type: "member/changed"; roomId: number; userId: number; joined: boolean }
  /** My role in a room changed (role_changed for me). */
  | { type: "room/myRole"; roomId: number; role: Role }
  /** A read marker moved (mine, here or on another device); the counts are the server's as of it. */
  | { type: "read/marked"; roomId: number; lastReadSeq: number; unreadCount?: number; mentionCount?: number }
  /** My notification level in a room (a member_settings frame, or my own change). */
  | { type: "room/notificationLevel"; roomId: number; level: NotificationLevel }
  // messages and timelines
  | {
      type: "message/received";
      message: Message;
      /** false for a frame seen before (at-least-once delivery): merged, but nothing counted twice. */
      fresh: boolean;
      /** Count it as unread (not mine, not on screen, not replayed; in the main timeline). */
      unread: boolean;
      /** Count it as an unread mention of me (as unread, but thread replies count too). */
      mention: boolean;
      /** What to read out to screen readers, if anything. */
      announce: string | null;
    }
  | {
      type: "message/changed";
      message: Message;
      /** A live frame shared by every socket (message_edited): its reactions' `me` is false, keep mine. */
      shared?: boolean;
    }
  /** Someone's reaction was added or removed (a live `reaction` frame); `mine` when that was me. */
  | { type: "message/reacted"; reaction: ReactionFrame; mine: boolean }
  | { type: "timeline/newest"; roomId: number; page: MessagePage }
  | { type: "timeline/olderRequested"; roomId: number }
  | { type: "timeline/older"; roomId: number; page: MessagePage }
  | { type: "timeline/noOlder"; roomId: number }
  | { type: "timeline/replayStarted"; roomId: number; cursorSeq: number; afterSeq: number }
  | { type: "timeline/failed"; roomId: number; error: string }
  | { type: "timeline/gapFill"; roomId: number; filling: boolean }
  | { type: "timeline/gapPage"; roomId: number; messages: Message[] }
  /** History around a message (a search hit jumped to): the page up to its seq and the page after it. */
  | { type: "timeline/around"; roomId: number; seq: number; before: MessagePage; after: MessagePage }
  /** Newer history after a jump, read forward from the end of the jumped-to stretch. */
  | { type: "timeline/newerRequested"; roomId: number }
  | { type: "timeline/newer"; roomId: number; page: MessagePage }
  // threads (a root's seq names each)
  | { type: "thread/opened"; roomId: number; rootSeq: number }
  | { type: "thread/newest"; roomId: number; rootSeq: number; page: MessagePage }
  | { type: "thread/olderRequested"; roomId: number; rootSeq: number }
  | { type: "thread/older"; roomId: number; rootSeq: number; page: MessagePage }
  | { type: "thread/failed"; roomId: number; rootSeq: number; error: string }
  /** A root's summary changed (thread_updated): applied where the root is held, if newer. */
  | { type: "thread/summary"; roomId: number; rootSeq: number; change: number; thread: ThreadSummary }
  // presence and typing
  | { type: "typing/started"; roomId: number; userId: number; expiresAt: number }
  | { type: "typing/expired"; now: number }
  | { type: "presence/loaded"; roomId: number; online: number[] }
  | { type: "presence/changed"; roomId: number; userId: number; online: boolean }
  // outbox (my sends not confirmed yet)
  | { type: "outbox/queued"; item: PendingSend }
  | { type: "outbox/confirmed"; clientMsgId: string }
  | { type: "outbox/failed"; clientMsgId: string; error: string }
  | { type: "outbox/retried"; clientMsgId: string }
  | { type: "outbox/discarded"; clientMsgId: string }
  /** The outbox as persisted (at start, or after another tab changed it). */
  | { type: "outbox/restored"; items: PendingSend[] }
  // people
  | { type: "users/loaded"; users: User[] };

export type ActionOf<T extends Action["type"]> = Extract<Action, { type: T }>;
