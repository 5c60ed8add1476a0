// Completing `@name` in the composer from the room's members: where the mention being typed starts,
// which names fit it, and the text after one is picked. Pure functions; Composer.tsx does the rest.
// Which `@` counts is the rendering's (lib/markdown.ts MENTION_AT, chat_svc/mentions.py's rule): not
// after a letter, digit, `@` or `.`, so an e-mail address never opens the list.

import { MENTION_AT } from "./markdown";

export interface MentionQuery {
  /** Index of the `@`. */
  start: number;
  /** What follows it up to the caret, lower case. */
  prefix: string;
}

const TYPING = new RegExp(`${MENTION_AT}([a-z0-9_.-]{0,32})$`, "iu");

/** The mention being typed just before the caret, or null. */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const match = TYPING.exec(text.slice(0, caret));
  if (!match) return null;
  const prefix = match[1]!;
  return { start: caret - prefix.length - 1, prefix: prefix.toLowerCase() };
}

/** Names that start with the prefix (then those that contain it), in alphabetical order, at most `limit`. */
export function mentionCandidates(names: readonly string[], prefix: string, limit = 6): string[] {
  const sorted = [...new Set(names)].sort();
  const starting = sorted.filter((name) => name.startsWith(prefix));
  const containing = prefix ? sorted.filter((name) => !name.startsWith(prefix) && name.includes(prefix)) : [];
  return [...starting, ...containing].slice(0, limit);
}

/** The text with the mention being typed replaced by `@name` (and a space at the end), and where the caret goes. */
export function completeMention(text: string, caret: number, query: MentionQuery, name: string): { text: string; caret: number } {
  const rest = text.slice(caret).replace(/^[a-z0-9_.-]*/i, "");
  const inserted = rest === "" ? `@${name} ` : `@${name}`;
  return { text: text.slice(0, query.start) + inserted + rest, caret: query.start + inserted.length };
}
