// What is true only while connected: who is typing where (until when), who is online in which
// room, and the latest line to read out to screen readers. Nothing here is stored by the server.

import type { Action } from "./actions";

export interface LiveState {
  /** room -> user -> expiry (ms since epoch). */
  typing: Readonly<Record<number, Readonly<Record<number, number>>>>;
  /** room -> online user ids, ascending. */
  presence: Readonly<Record<number, readonly number[]>>;
  announcement: string;
}

export const initialLive: LiveState = { typing: {}, presence: {}, announcement: "" };

function withoutTypist(state: LiveState, roomId: number, userId: number): LiveState {
  const room = state.typing[roomId];
  if (!room?.[userId]) return state;
  const rest = { ...room };
  delete rest[userId];
  return { ...state, typing: { ...state.typing, [roomId]: rest } };
}

function setOnline(state: LiveState, roomId: number, userId: number, online: boolean): LiveState {
  const current = state.presence[roomId] ?? [];
  const has = current.includes(userId);
  if (has === online) return state;
  const next = online ? [...current, userId].sort((a, b) => a - b) : current.filter((id) => id !== userId);
  return { ...state, presence: { ...state.presence, [roomId]: next } };
}

function sweep(state: LiveState, now: number): LiveState {
  const typing: Record<number, Record<number, number>> = {};
  let changed = false;
  for (const [roomId, users] of Object.entries(state.typing)) {
    const left = Object.fromEntries(Object.entries(users).filter(([, at]) => at > now));
    if (Object.keys(left).length !== Object.keys(users).length) changed = true;
    if (Object.keys(left).length > 0) typing[Number(roomId)] = left;
  }
  return changed ? { ...state, typing } : state;
}

export function liveReducer(state: LiveState, action: Action): LiveState {
  switch (action.type) {
    case "connection/status":
      // Stale once the connection drops; rebuilt after the next catch-up.
      return action.status === "offline" ? { ...state, typing: {}, presence: {} } : state;
    case "typing/started":
      return {
        ...state,
        typing: { ...state.typing, [action.roomId]: { ...state.typing[action.roomId], [action.userId]: action.expiresAt } },
      };
    case "typing/expired":
      return sweep(state, action.now);
    case "presence/loaded":
      return { ...state, presence: { ...state.presence, [action.roomId]: [...action.online].sort((a, b) => a - b) } };
    case "presence/changed":
      return setOnline(state, action.roomId, action.userId, action.online);
    case "member/changed":
      return action.joined ? state : setOnline(state, action.roomId, action.userId, false);
    case "message/received": {
      if (!action.fresh) return state;
      const next = withoutTypist(state, action.message.room_id, action.message.sender_id);
      return action.announce === null ? next : { ...next, announcement: action.announce };
    }
    default:
      return state;
  }
}

/** When the next typing notice runs out (ms since epoch), or null when nobody is typing. */
export function nextTypingExpiry(state: LiveState): number | null {
  const expiries = Object.values(state.typing).flatMap((room) => Object.values(room));
  return expiries.length === 0 ? null : Math.min(...expiries);
}
