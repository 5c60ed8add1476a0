// A message's reactions as I see them: the aggregate by emoji, with `me` for my own. Live frames
// (`reaction`, `message_edited`) are shared by every socket and carry `me: false`, so my `me` comes
// from what I held before, or from the frame's user_id and `added` when the frame is about me.

import type { Message, Reaction, ReactionFrame } from "./types";

const NONE: readonly Reaction[] = [];

export function reactionsOf(message: Message | undefined): readonly Reaction[] {
  return message?.reactions ?? NONE;
}

/** Whether I have reacted to the message with this emoji. */
export function reactedWith(message: Message | undefined, emoji: string): boolean {
  return reactionsOf(message).some((r) => r.emoji === emoji && r.me);
}

/** The incoming aggregate with `me` as held for each emoji, or as `own` says for its emoji. */
function withMine(incoming: readonly Reaction[], held: Message | undefined, own?: Pick<Reaction, "emoji" | "me">) {
  return incoming.map((r) => ({ ...r, me: r.emoji === own?.emoji ? own.me : reactedWith(held, r.emoji) }));
}

/** A shared frame's message (live message_edited) with my `me` kept from the message I held. */
export function keepMyReactions(message: Message, held: Message | undefined): Message {
  if (!held || reactionsOf(message).length === 0) return message;
  return { ...message, reactions: withMine(reactionsOf(message), held) };
}

/** The held message after a `reaction` frame; `mine` when the frame's user is me. */
export function applyReaction(held: Message, frame: ReactionFrame, mine: boolean): Message {
  const own = mine ? { emoji: frame.emoji, me: frame.added } : undefined;
  return { ...held, change: frame.change, reactions: withMine(frame.reactions, held, own) };
}
