// My rooms, most recently active first, with each one's read marker, unread and mention counts and
// my notification level.

import type { Invitation, MyRoom, Room } from "../types";
import type { Action, ActionOf } from "./actions";
import type { UsersState } from "./users";

export interface RoomsState {
  list: MyRoom[];
  /** The list came from the server at least once (before that "no rooms" is not known). */
  loaded: boolean;
  /** Invitations waiting for my answer, newest first. */
  invitations: Invitation[];
  /** Users I blocked: they cannot message or invite me. */
  blocked: number[];
}

export const initialRooms: RoomsState = { list: [], loaded: false, invitations: [], blocked: [] };

/** When a room was last active: its newest message, else its creation. */
function activity(entry: MyRoom): number {
  return Date.parse(entry.room.last_message_at ?? entry.room.created_at);
}

/** Pages come by room id; the list shows the most recently active first (ties keep their order). */
function byActivity(rooms: MyRoom[]): MyRoom[] {
  return [...rooms].sort((a, b) => activity(b) - activity(a));
}

function mapRoom(state: RoomsState, roomId: number, change: (entry: MyRoom) => MyRoom): RoomsState {
  const index = state.list.findIndex((r) => r.room.id === roomId);
  if (index < 0) return state;
  const list = [...state.list];
  list[index] = change(list[index]!);
  return { ...state, list };
}

export function roomsReducer(state: RoomsState, action: Action): RoomsState {
  switch (action.type) {
    case "rooms/loaded":
      return { ...state, list: byActivity(action.rooms), loaded: true };
    case "blocked/set":
      return { ...state, blocked: action.userIds };
    case "invitations/loaded":
      return { ...state, invitations: action.invitations };
    case "invitation/changed": {
      const others = state.invitations.filter((i) => i.room.id !== action.invitation.room.id);
      return { ...state, invitations: action.pending ? [action.invitation, ...others] : others };
    }
    case "room/added":
      if (state.list.some((r) => r.room.id === action.room.id)) return state;
      return {
        ...state,
        list: [
          {
            room: action.room,
            last_read_seq: action.room.last_seq,
            unread_count: 0,
            role: action.role,
            mention_count: 0,
            notification_level: action.room.kind === "direct" ? "all" : "mentions",
          },
          ...state.list,
        ],
      };
    case "room/updated":
      return mapRoom(state, action.room.id, (entry) => ({ ...entry, room: { ...action.room } }));
    case "room/removed":
      return state.list.some((r) => r.room.id === action.roomId)
        ? { ...state, list: state.list.filter((r) => r.room.id !== action.roomId) }
        : state;
    case "room/myRole":
      return mapRoom(state, action.roomId, (entry) => (entry.role === action.role ? entry : { ...entry, role: action.role }));
    case "member/changed":
      return mapRoom(state, action.roomId, (entry) => ({
        ...entry,
        room: { ...entry.room, member_count: Math.max(0, entry.room.member_count + (action.joined ? 1 : -1)) },
      }));
    case "read/marked":
      return mapRoom(state, action.roomId, (entry) => {
        if (action.lastReadSeq < entry.last_read_seq) return entry; // an older marker, overtaken
        // The server's counts are as of that read; messages that came since stay counted.
        const caughtUp = action.lastReadSeq >= entry.room.last_seq;
        return {
          ...entry,
          last_read_seq: action.lastReadSeq,
          unread_count: caughtUp ? 0 : (action.unreadCount ?? entry.unread_count),
          mention_count: caughtUp ? 0 : (action.mentionCount ?? entry.mention_count),
        };
      });
    case "room/notificationLevel":
      return mapRoom(state, action.roomId, (entry) =>
        entry.notification_level === action.level ? entry : { ...entry, notification_level: action.level },
      );
    case "message/received":
      return action.fresh ? messageArrived(state, action) : state;
    default:
      return state;
  }
}

/** A new message moves its room to the top, advances its last_seq and maybe its counts. */
function messageArrived(state: RoomsState, { message, unread, mention }: ActionOf<"message/received">): RoomsState {
  const index = state.list.findIndex((r) => r.room.id === message.room_id);
  if (index < 0) return state;
  const entry = state.list[index]!;
  const moved: MyRoom = {
    ...entry,
    room: { ...entry.room, last_seq: Math.max(entry.room.last_seq, message.seq) },
    unread_count: unread ? entry.unread_count + 1 : entry.unread_count,
    mention_count: mention ? entry.mention_count + 1 : entry.mention_count,
  };
  return { ...state, list: [moved, ...state.list.slice(0, index), ...state.list.slice(index + 1)] };
}

export function findRoom(state: RoomsState, roomId: number): MyRoom | undefined {
  return state.list.find((r) => r.room.id === roomId);
}

/** The name to show for a room: a direct conversation is named after the other person. */
export function roomTitle(room: Room, users: UsersState): string {
  if (room.kind !== "direct") return room.name;
  const other = room.direct_user_ids.find((id) => id !== users.me?.id) ?? users.me?.id;
  return other !== undefined ? (users.byId[other]?.username ?? `user ${other}`) : room.name;
}
