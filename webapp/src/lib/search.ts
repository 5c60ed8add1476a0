// Search results as shown: a body cut into plain and highlighted parts, and where a hit leads.
// Highlights are [start, end) in Unicode code points (the gateway's rule), so the body is split with
// Array.from, never by UTF-16 index: an emoji before a word counts as one.

import { inMainTimeline } from "./timeline";
import type { Message } from "./types";

export interface Part {
  text: string;
  mark: boolean;
}

/** The body in order, each highlighted range its own part; ranges out of order, overlapping or out of bounds are clipped. */
export function highlightParts(body: string, highlights: readonly (readonly [number, number])[]): Part[] {
  const points = Array.from(body);
  const parts: Part[] = [];
  let at = 0;
  for (const [rawStart, rawEnd] of highlights) {
    const start = Math.max(at, Math.min(rawStart, points.length));
    const end = Math.max(start, Math.min(rawEnd, points.length));
    if (end === start) continue;
    if (start > at) parts.push({ text: points.slice(at, start).join(""), mark: false });
    parts.push({ text: points.slice(start, end).join(""), mark: true });
    at = end;
  }
  if (at < points.length) parts.push({ text: points.slice(at).join(""), mark: false });
  return parts;
}

/** Where a hit opens: its room at its seq; a reply shown only in its thread opens that thread. */
export function messageHref(message: Message): string {
  const base = `/rooms/${message.room_id}`;
  if (inMainTimeline(message)) return `${base}?seq=${message.seq}`;
  return `${base}?thread=${message.thread_root_seq}&seq=${message.seq}`;
}

/** The search page's address for a query (and a room, 0 = all). */
export function searchHref(query: string, roomId = 0): string {
  const params = new URLSearchParams({ q: query });
  if (roomId > 0) params.set("room", String(roomId));
  return `/search?${params.toString()}`;
}

/** A positive safe integer from a URL parameter, or 0. */
export function positiveParam(value: string | null): number {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
