// The JSON shapes of the gateway's browser protocol (docs/protocol.md), as short names for the
// types generated from its OpenAPI document (api/schema.d.ts; regenerate with `npm run gen:types`).

import type { components } from "./api/schema";

type Schemas = components["schemas"];

export type User = Schemas["User"];
export type Session = Schemas["Session"];
export type SignedIn = Schemas["SignedIn"];
export type Room = Schemas["Room"];
export type RoomKind = Room["kind"];
export type MyRoom = Schemas["MyRoom"];
export type Role = MyRoom["role"];
export type Member = Schemas["Member"];
export type MemberPage = Schemas["MemberPage"];
export type Message = Schemas["Message"];
export type MessagePage = Schemas["MessagePage"];
export type RoomPage = Schemas["RoomPage"];
export type Presence = Schemas["Presence"];
export type Users = Schemas["Users"];
export type MyRooms = Schemas["MyRooms"];
export type DirectRoom = Schemas["DirectRoom"];
export type OneMessage = Schemas["OneMessage"];
export type CreateRoomBody = Schemas["CreateRoomBody"];
export type LoginBody = Schemas["LoginBody"];
export type RegisterBody = Schemas["RegisterBody"];
export type RefreshTokenBody = Schemas["RefreshTokenBody"];
export type EditMessageBody = Schemas["EditMessageBody"];
export type UserRef = Schemas["UserRef"];

export interface Cursor {
  room_id: number;
  after_seq: number;
  after_change: number;
}

// -- WebSocket frames, server to client ----------------------------------------------------------

export interface ReadyFrame {
  type: "ready";
  protocol: number;
  user_id: number;
  username: string;
  session_expires_at: number;
  heartbeat_seconds: number;
  idle_timeout_seconds: number;
  rooms: MyRoom[];
}

export type ServerFrame =
  | ReadyFrame
  | { type: "caught_up" }
  | { type: "message" | "message_edited" | "message_deleted"; room_id: number; message: Message }
  | { type: "typing"; room_id: number; user_id: number; expires_at: string }
  | { type: "presence"; room_id: number; user_id: number; online: boolean }
  | { type: "member_joined" | "member_left"; room_id: number; user_id: number; role: Role }
  | { type: "read_marker"; room_id: number; last_read_seq: number }
  | { type: "room_updated"; room_id: number; room: Room }
  | { type: "send_ack"; ref: string; message: Message; duplicate: boolean }
  | { type: "typing_ack"; ref: string; expires_at: string }
  | { type: "read_ack"; ref: string; room_id: number; last_read_seq: number; unread_count: number }
  | { type: "reauth_ack"; ref: string; session_expires_at: number }
  | { type: "pong"; ref?: string | null }
  | { type: "error"; ref?: string; code: string; message: string };

export type ClientFrame =
  | { type: "auth"; token: string; cursors: Cursor[] }
  | { type: "send"; ref: string; room_id: number; client_msg_id: string; body: string }
  | { type: "typing"; room_id: number }
  | { type: "read"; ref: string; room_id: number; seq: number }
  | { type: "ping"; ref: string }
  | { type: "reauth"; ref: string; token: string };
