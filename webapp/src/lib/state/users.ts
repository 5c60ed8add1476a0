// The people whose names the client knows, and who I am.

import type { User } from "../types";
import type { Action } from "./actions";

export interface UsersState {
  me: User | null;
  byId: Readonly<Record<number, User>>;
}

export function initialUsers(me: User | null): UsersState {
  return { me, byId: me ? { [me.id]: me } : {} };
}

export function usersReducer(state: UsersState, action: Action): UsersState {
  if (action.type !== "users/loaded" || action.users.length === 0) return state;
  return { ...state, byId: { ...state.byId, ...Object.fromEntries(action.users.map((u) => [u.id, u])) } };
}

/** A user's name as shown ("user 7" until the name is known). */
export function userName(state: UsersState, id: number): string {
  return state.byId[id]?.username ?? `user ${id}`;
}
