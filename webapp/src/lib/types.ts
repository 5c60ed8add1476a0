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
export type UpdateRoomBody = Schemas["UpdateRoomBody"];
export type RoleBody = Schemas["RoleBody"];
export type ThreadSummary = Schemas["ThreadSummary"];
export type NotificationLevel = MyRoom["notification_level"];
export type NotificationLevelBody = Schemas["NotificationLevelBody"];
export type NotificationLevelAnswer = Schemas["NotificationLevelAnswer"];
export type Reaction = Schemas["Reaction"];
export type Reacted = Schemas["Reacted"];
export type SearchHit = Schemas["SearchHit"];
export type SearchPage = Schemas["SearchPage"];
export type FileOut = Schemas["FileOut"];
export type UploadedFile = Schemas["UploadedFile"];
export type Invitation = Schemas["Invitation"];
export type InvitationSent = Schemas["InvitationSent"];
export type Invitations = Schemas["Invitations"];
export type BlockedUsers = Schemas["BlockedUsers"];

// -- WebSocket frames (edge_gateway/ws/frames.py) -------------------------------------------------

export type Cursor = Schemas["Cursor"];
export type ClientFrame = Schemas["ClientFrame"];
export type ServerFrame = Schemas["ServerFrame"];
export type ReadyFrame = Schemas["ReadyFrame"];
export type ReactionFrame = Schemas["ReactionFrame"];
