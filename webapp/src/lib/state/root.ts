// The whole chat state: one slice per concern, each with its own pure reducer, combined here.
// Components read it through selectors (components/ChatContext.tsx), so each re-renders only when
// the part it reads changes; effects live in lib/chat/ and only dispatch actions.

import type { User } from "../types";
import type { Action } from "./actions";
import { connectionReducer, initialConnection, type ConnectionState } from "./connection";
import { initialLive, liveReducer, type LiveState } from "./live";
import { outboxReducer, type OutboxState, type PendingSend } from "./outbox";
import { initialRooms, roomsReducer, type RoomsState } from "./rooms";
import { timelinesReducer, type TimelinesState } from "./timelines";
import { initialUsers, usersReducer, type UsersState } from "./users";

export interface ChatState {
  connection: ConnectionState;
  rooms: RoomsState;
  timelines: TimelinesState;
  live: LiveState;
  outbox: OutboxState;
  users: UsersState;
}

export function initialChatState(me: User | null): ChatState {
  return {
    connection: initialConnection,
    rooms: initialRooms,
    timelines: {},
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
    live: liveReducer(state.live, action),
    outbox: outboxReducer(state.outbox, action, state.users.me?.id),
    users: usersReducer(state.users, action),
  };
  const keys = Object.keys(next) as (keyof ChatState)[];
  return keys.some((key) => next[key] !== state[key]) ? next : state;
}

const NO_PENDING: readonly PendingSend[] = [];

/**
 * A room's pending sends as shown: without any whose message is in the timeline already (another
 * tab may have sent it, and its storage event can come after the message frame).
 */
export function visiblePending(state: ChatState, roomId: number): readonly PendingSend[] {
  const pending = state.outbox[roomId] ?? NO_PENDING;
  if (pending.length === 0) return NO_PENDING;
  const me = state.users.me?.id;
  const stored = new Set(
    (state.timelines[roomId]?.messages ?? []).filter((m) => m.sender_id === me).map((m) => m.client_msg_id),
  );
  return stored.size === 0 ? pending : pending.filter((item) => !stored.has(item.clientMsgId));
}
