"use client";

import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent, type RefObject } from "react";
import { completeMention, mentionCandidates, mentionQuery, type MentionQuery } from "@/lib/mentionCompletion";
import { findRoom } from "@/lib/state/rooms";
import { shallowEqual, useChat, useStore } from "./ChatContext";

interface Completion {
  /** Call on every change of the text or the caret. */
  update: (text: string, caret: number) => void;
  /** Call first in the textarea's onKeyDown: true when the key was the list's. */
  onKeyDown: (event: KeyboardEvent<HTMLTextAreaElement>) => boolean;
  /** For the textarea (it stays a textbox, so that it keeps its name and role): the list's attributes. */
  inputProps: Record<string, string | boolean | undefined>;
  list: React.ReactNode;
}

/** `@` completion for a composer: the room's members (and `@room` where the room allows it). */
export function useMentionCompletion(
  roomId: number,
  input: RefObject<HTMLTextAreaElement | null>,
  text: string,
  setText: (text: string) => void,
): Completion {
  const chat = useChat();
  const listId = useId();
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [memberIds, setMemberIds] = useState<number[]>([]);
  const nextCaret = useRef<number | null>(null);
  const open = query !== null;

  useEffect(() => {
    if (!open) return;
    let current = true;
    void chat.roomMembers(roomId).then((ids) => current && setMemberIds(ids));
    return () => {
      current = false;
    };
  }, [chat, roomId, open]);

  const names = useStore(
    (s) => memberIds.filter((id) => id !== s.users.me?.id).flatMap((id) => s.users.byId[id]?.username ?? []),
    shallowEqual,
  );
  const roomMention = useStore((s) => {
    const entry = findRoom(s.rooms, roomId);
    return entry !== undefined && entry.room.kind !== "direct" && entry.room.room_mentions === true;
  });
  const options = query ? mentionCandidates(roomMention ? [...names, "room"] : names, query.prefix) : [];
  // A name typed out in full needs no list (and Enter sends, as it would without one).
  const shown = options.length > 0 && !(options.length === 1 && options[0] === query?.prefix);

  // The caret after a completion, once the new text is in the box.
  useLayoutEffect(() => {
    if (nextCaret.current === null || !input.current) return;
    input.current.setSelectionRange(nextCaret.current, nextCaret.current);
    nextCaret.current = null;
  });

  function pick(name: string) {
    if (!query) return;
    const done = completeMention(text, caret, query, name);
    nextCaret.current = done.caret;
    setText(done.text);
    setQuery(null);
    input.current?.focus();
  }

  return {
    update(value, at) {
      const next = mentionQuery(value, at);
      setCaret(at);
      setQuery(next);
      if (next?.prefix !== query?.prefix) setActive(0);
    },
    onKeyDown(event) {
      if (!shown) return false;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        const step = event.key === "ArrowDown" ? 1 : -1;
        setActive((i) => (i + step + options.length) % options.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && !event.nativeEvent.isComposing) {
        pick(options[Math.min(active, options.length - 1)]!);
      } else if (event.key === "Escape") {
        setQuery(null);
      } else {
        return false;
      }
      event.preventDefault();
      return true;
    },
    inputProps: {
      "aria-autocomplete": "list",
      "aria-controls": shown ? listId : undefined,
      "aria-activedescendant": shown ? `${listId}-${Math.min(active, options.length - 1)}` : undefined,
    },
    list: shown ? (
      <ul className="mention-list" id={listId} role="listbox" aria-label="People to mention">
        {options.map((name, i) => (
          <li
            key={name}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === Math.min(active, options.length - 1)}
            // mousedown, not click: the textarea keeps its focus and caret
            onMouseDown={(e) => {
              e.preventDefault();
              pick(name);
            }}
          >
            @{name}
            {name === "room" && <span className="mention-hint"> everyone here</span>}
          </li>
        ))}
      </ul>
    ) : null,
  };
}
