// Who may do what in a room: the table of docs/conversations.md ("Roles and room settings"), which
// chat_svc enforces (chat_svc/roles.py). The web app only uses it to offer what would be allowed.

import type { Role, RoomKind } from "./types";

const RANK: Record<Role, number> = { member: 0, moderator: 1, owner: 2 };

/** Rename, set the topic, switch @room: owners and moderators, never in a direct room. */
export function canManageRoom(role: Role, kind: RoomKind): boolean {
  return kind !== "direct" && RANK[role] >= RANK.moderator;
}

/** Make a member a moderator or back: the owner only. */
export function canSetRoles(role: Role, kind: RoomKind): boolean {
  return kind !== "direct" && role === "owner";
}

/** Remove someone: owners anyone but themselves, moderators plain members. */
export function canRemove(role: Role, kind: RoomKind, theirRole: Role, self: boolean): boolean {
  if (kind === "direct" || self) return false;
  return role === "owner" || (role === "moderator" && theirRole === "member");
}

/** Delete a message: one's own always; someone else's as owner or moderator. */
export function canDelete(role: Role, kind: RoomKind, own: boolean): boolean {
  return own || canManageRoom(role, kind);
}
