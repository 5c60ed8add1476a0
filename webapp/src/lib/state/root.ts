// The whole chat state: one slice per concern, each with its own pure reducer, combined here.
// Components read it through selectors (components/ChatContext.tsx), so each re-renders only when
// the part it reads changes; effects live in lib/chat/ and only dispatch actions.

import type { Message, User } from "../types";
import type { Action } from "./actions";
import { connectionReducer, initialConnection, type ConnectionState } from "./connection";
import { initialLive, liveReducer, type LiveState } from "./live";
import { outboxReducer, pendingShownIn, type OutboxState, type PendingSend } from "./outbox";
import { initialRooms, roomsReducer, type RoomsState } from "./rooms";
import { findHeld, findThread, threadsReducer, type ThreadsState } from "./threads";
import { findMessage, timelinesReducer, type TimelinesState } from "./timelines";
import { initialUsers, usersReducer, type UsersState } from "./users";

export interface ChatState {
  connection: ConnectionState;
  rooms: RoomsState;
  timelines: TimelinesState;
  threads: ThreadsState;
  live: LiveState;
  outbox: OutboxState;
  users: UsersState;
}

export function initialChatState(me: User | null): ChatState {
  return {
    connection: initialConnection,
    rooms: initialRooms,
    timelines: {},
    threads: {},
    live: initialLive,
    outbox: {},
    users: initialUsers(me),
  };
}

/** Every slice sees every action; the state object is new only when some slice changed. */
export function chatReducer(state: ChatState, action: Action): ChatState {
  const next: ChatState = {
    connection: connectionReducer(state.connection, action),
    rooms: roomsReducer(state.rooms, action),
    timelines: timelinesReducer(state.timelines, action),
    threads: threadsReducer(state.threads, action),
    live: liveReducer(state.live, action),
    outbox: outboxReducer(state.outbox, action, state.users.me?.id),
    users: usersReducer(state.users, action),
  };
  const keys = Object.keys(next) as (keyof ChatState)[];
  return keys.some((key) => next[key] !== state[key]) ? next : state;
}

const NO_PENDING: readonly PendingSend[] = [];

/**
 * The pending sends shown in a room's main timeline (`rootSeq` 0) or in one of its threads: without
 * any whose message is there already (another tab may have sent it, and its storage event can come
 * after the message frame).
 */
export function visiblePending(state: ChatState, roomId: number, rootSeq = 0): readonly PendingSend[] {
  const all = state.outbox[roomId] ?? NO_PENDING;
  const pending = all.filter((item) => pendingShownIn(item, rootSeq));
  if (pending.length === 0) return NO_PENDING;
  const me = state.users.me?.id;
  const held = rootSeq === 0 ? state.timelines[roomId] : findThread(state.threads, roomId, rootSeq);
  const stored = new Set((held?.messages ?? []).filter((m) => m.sender_id === me).map((m) => m.client_msg_id));
  const shown = stored.size === 0 ? pending : pending.filter((item) => !stored.has(item.clientMsgId));
  return shown.length === all.length ? all : shown;
}

/** A message as held, in the room's main timeline or in an opened thread. */
export function heldMessage(state: ChatState, roomId: number, seq: number): Message | undefined {
  return findMessage(state.timelines, roomId, seq) ?? findHeld(state.threads, roomId, seq);
}
