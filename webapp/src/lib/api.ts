// A small typed client for the gateway's REST API (/api/v1); see docs/protocol.md.

import { apiUrl } from "./config";
import { sendFile } from "./files/transfer";
import { ApiError, request, requestBlob, type Method } from "./http";
import type { SessionManager } from "./session";
import type {
  BlockedUsers,
  CreateRoomBody,
  DirectRoom,
  EditMessageBody,
  FileOut,
  InvitationSent,
  Invitations,
  LoginBody,
  Member,
  MemberPage,
  MessagePage,
  MyRooms,
  NotificationLevelAnswer,
  NotificationLevelBody,
  OneMessage,
  Presence,
  Reacted,
  RefreshTokenBody,
  RegisterBody,
  RoleBody,
  Room,
  RoomPage,
  SearchPage,
  SignedIn,
  UpdateRoomBody,
  User,
  UserRef,
  Users,
} from "./types";

export { ApiError };

/** Calls that need no session. */
export const auth = {
  register: (username: string, password: string) =>
    request<SignedIn>("POST", "/auth/register", { username, password } satisfies RegisterBody),
  /** newPassword: after an operator reset the password (400 failed_precondition), the one to set. */
  login: (username: string, password: string, newPassword?: string) =>
    request<SignedIn>("POST", "/auth/login", {
      username,
      password,
      ...(newPassword ? { new_password: newPassword } : {}),
    } satisfies LoginBody),
  logout: (refreshToken: string) =>
    request<void>("POST", "/auth/logout", { refresh_token: refreshToken } satisfies RefreshTokenBody),
};

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Calls made as the signed-in user; a 401 refreshes the token once and retries. */
export class ApiClient {
  constructor(private readonly session: SessionManager) {}

  private call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return this.authorized((token) => request<T>(method, path, body, token));
  }

  /** Run `attempt` with an access token; a 401 refreshes the token once and runs it again. */
  private async authorized<T>(attempt: (token: string) => Promise<T>): Promise<T> {
    const token = await this.session.accessToken();
    try {
      return await attempt(token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      const fresh = await this.session.refresh();
      return attempt(fresh.session.access_token);
    }
  }

  me = () => this.call<User>("GET", "/users/me");
  user = (id: number) => this.call<User>("GET", `/users/${id}`);
  userByName = (name: string) => this.call<User>("GET", `/users/by-username/${encodeURIComponent(name)}`);
  users = async (ids: number[]) => {
    if (ids.length === 0) return [];
    const search = ids.map((id) => `ids=${id}`).join("&");
    return (await this.call<Users>("GET", `/users?${search}`)).users;
  };

  /** Every one of my rooms: GET /rooms page after page (by room id) until has_more is false. */
  myRooms = async () => {
    const rooms: MyRooms["rooms"] = [];
    for (let after = 0; ; ) {
      const page = await this.call<MyRooms>("GET", `/rooms${query({ after, limit: 500 })}`);
      rooms.push(...page.rooms);
      if (!page.has_more || page.rooms.length === 0) return rooms;
      after = page.rooms[page.rooms.length - 1]!.room.id;
    }
  };
  invitations = async () => (await this.call<Invitations>("GET", "/invitations")).invitations;
  acceptInvitation = (roomId: number) => this.call<Room>("POST", `/invitations/${roomId}/accept`);
  declineInvitation = (roomId: number) => this.call<void>("POST", `/invitations/${roomId}/decline`);
  blocked = async () => (await this.call<BlockedUsers>("GET", "/blocks")).users;
  block = (userId: number) => this.call<void>("PUT", `/blocks/${userId}`);
  unblock = (userId: number) => this.call<void>("DELETE", `/blocks/${userId}`);
  publicRooms = (search: string, after?: number, limit = 50) =>
    this.call<RoomPage>("GET", `/rooms/public${query({ query: search, after, limit })}`);
  createRoom = (kind: CreateRoomBody["kind"], name: string, topic: string, memberIds: number[]) =>
    this.call<Room>("POST", "/rooms", { kind, name, topic, member_ids: memberIds } satisfies CreateRoomBody);
  room = (id: number) => this.call<Room>("GET", `/rooms/${id}`);
  join = (id: number) => this.call<Room>("POST", `/rooms/${id}/join`);
  leave = (id: number) => this.call<void>("POST", `/rooms/${id}/leave`);
  invite = (id: number, userId: number) =>
    this.call<InvitationSent>("POST", `/rooms/${id}/members`, { user_id: userId } satisfies UserRef);
  members = (id: number, after?: number) =>
    this.call<MemberPage>("GET", `/rooms/${id}/members${query({ after, limit: 200 })}`);
  presence = (id: number) => this.call<Presence>("GET", `/rooms/${id}/presence`);
  direct = (userId: number) => this.call<DirectRoom>("POST", "/direct", { user_id: userId } satisfies UserRef);

  messagesBefore = (id: number, before?: number, limit = 50) =>
    this.call<MessagePage>("GET", `/rooms/${id}/messages${query({ before, limit })}`);
  messagesAfter = (id: number, after: number, limit = 200) =>
    this.call<MessagePage>("GET", `/rooms/${id}/messages${query({ after, limit })}`);
  /** A thread: its root, then its replies, ascending; the newest page, or the one before a seq. */
  threadBefore = (id: number, rootSeq: number, before?: number, limit = 50) =>
    this.call<MessagePage>("GET", `/rooms/${id}/messages${query({ thread: rootSeq, before, limit })}`);
  edit = async (id: number, seq: number, body: string) =>
    (await this.call<OneMessage>("PATCH", `/rooms/${id}/messages/${seq}`, { body } satisfies EditMessageBody)).message;
  remove = async (id: number, seq: number) =>
    (await this.call<OneMessage>("DELETE", `/rooms/${id}/messages/${seq}`)).message;

  /** Add my reaction (again is fine: `changed` false); the emoji goes URL-encoded in the path. */
  react = (id: number, seq: number, emoji: string) =>
    this.call<Reacted>("PUT", `/rooms/${id}/messages/${seq}/reactions/${encodeURIComponent(emoji)}`);
  unreact = (id: number, seq: number, emoji: string) =>
    this.call<Reacted>("DELETE", `/rooms/${id}/messages/${seq}/reactions/${encodeURIComponent(emoji)}`);

  // room settings and roles (owners and moderators; docs/conversations.md)
  updateRoom = (id: number, changes: UpdateRoomBody) => this.call<Room>("PATCH", `/rooms/${id}`, changes);
  setRole = (id: number, userId: number, role: RoleBody["role"]) =>
    this.call<Member>("PUT", `/rooms/${id}/members/${userId}/role`, { role } satisfies RoleBody);
  removeMember = (id: number, userId: number) => this.call<void>("DELETE", `/rooms/${id}/members/${userId}`);

  /** My messages with these words, newest first; `pageToken` from the previous page (docs/search-and-files.md). */
  search = (q: string, options: { roomId?: number; pageToken?: string; limit?: number } = {}) =>
    this.call<SearchPage>(
      "GET",
      `/search${query({ q, room_id: options.roomId || undefined, page_token: options.pageToken, limit: options.limit })}`,
    );

  // files (docs/search-and-files.md): raw bytes up, with progress; bytes down as a Blob
  /** Upload one file to a room; it stays unattached until a message names it in file_ids. */
  upload = (id: number, file: Blob & { name?: string }, onProgress: (loaded: number) => void, signal?: AbortSignal) =>
    this.authorized<FileOut>((token) =>
      sendFile({
        url: `${apiUrl()}/rooms/${id}/files${query({ name: file.name || "pasted file" })}`,
        token,
        body: file,
        onProgress,
        signal,
      }),
    );
  /** A file's bytes (or its thumbnail's). */
  fileBlob = (fileId: string, thumbnail = false) =>
    this.authorized((token) =>
      requestBlob(`/files/${encodeURIComponent(fileId)}${thumbnail ? "?thumbnail=true" : ""}`, token),
    );

  /** When I am notified of a room's messages, on all my devices. */
  setNotificationLevel = async (id: number, level: NotificationLevelBody["level"]) =>
    (await this.call<NotificationLevelAnswer>("PUT", `/rooms/${id}/notifications`, { level } satisfies NotificationLevelBody)).level;
}
