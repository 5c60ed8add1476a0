// JSON shapes of the gateway's browser protocol v1 (docs/protocol.md, edge_gateway/schemas.py).

export type RoomKind = "public" | "private" | "direct";
export type Role = "owner" | "member";

export interface User {
  id: number;
  username: string;
  display_name: string;
  created_at: string;
}

export interface Session {
  access_token: string;
  access_token_expires_at: string;
  refresh_token: string;
  refresh_token_expires_at: string;
  session_id: string;
}

export interface SignedIn {
  user: User;
  session: Session;
}

export interface Room {
  id: number;
  kind: RoomKind;
  name: string;
  topic: string;
  created_by: number;
  created_at: string;
  last_seq: number;
  last_change: number;
  member_count: number;
  direct_user_ids: number[];
}

export interface MyRoom {
  room: Room;
  last_read_seq: number;
  unread_count: number;
  role: Role;
}

export interface Member {
  user_id: number;
  role: Role;
  joined_at: string;
}

export interface Message {
  room_id: number;
  seq: number;
  change: number;
  sender_id: number;
  client_msg_id: string;
  body: string;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

export interface RoomPage {
  rooms: Room[];
  has_more: boolean;
}

export interface Presence {
  room_id: number;
  online: number[];
}

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
