// What members see of operators' actions (chat_svc's ModerationService, docs/conversations.md):
// a message an operator took down, and a room an operator archived (read-only).

import type { Message, Room } from "./types";

/** What a tombstone says: taken down by an operator, deleted by a room moderator, or by its author. */
export function tombstoneText(message: Pick<Message, "taken_down">, deleterName: string | null): string {
  if (message.taken_down) return "Removed by a moderator.";
  return deleterName ? `This message was deleted by ${deleterName}, a moderator.` : "This message was deleted.";
}

/** Whether an operator archived the room: it is read-only then. */
export function isArchived(room: Pick<Room, "archived_at">): boolean {
  return Boolean(room.archived_at);
}

/** The banner over an archived room's history, with the day it was archived. */
export function archivedBanner(room: Pick<Room, "archived_at">): string {
  const day = room.archived_at ? new Date(room.archived_at).toLocaleDateString(undefined, { dateStyle: "long" }) : "";
  return `This room was archived${day ? ` on ${day}` : ""}. It is read-only: its history stays readable, but nobody can send, edit or react here.`;
}

/** Why an archived room's composer is off. */
export const ARCHIVED_COMPOSER = "This room is archived, so new messages cannot be sent.";
