"use client";

import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { reactionsOf } from "@/lib/reactions";
import { userName } from "@/lib/state/users";
import type { Message, Reaction } from "@/lib/types";
import { shallowEqual, useChat, useStore } from "./ChatContext";

/** What the picker offers, with the names screen readers say. */
const PICKS: readonly (readonly [string, string])[] = [
  ["👍", "thumbs up"],
  ["❤️", "red heart"],
  ["😂", "face with tears of joy"],
  ["🎉", "party popper"],
  ["😮", "face with open mouth"],
  ["😢", "crying face"],
  ["🙏", "folded hands"],
  ["👀", "eyes"],
  ["✅", "check mark"],
  ["🔥", "fire"],
  ["🚀", "rocket"],
  ["👎", "thumbs down"],
];
const COLUMNS = 6;

/**
 * A message's reactions as chips (click one to add or take back mine), and a picker to add one. In a
 * read-only (archived) room the chips only show them.
 */
export function Reactions({ message, readOnly = false }: { message: Message; readOnly?: boolean }) {
  const chat = useChat();
  const reactions = reactionsOf(message);
  const ids = [...new Set(reactions.flatMap((r) => r.user_ids))];
  const names = useStore((s) => ids.map((id) => userName(s.users, id)), shallowEqual);
  const idsKey = ids.join(",");
  useEffect(() => {
    if (idsKey) chat.ensureUsers(idsKey.split(",").map(Number));
  }, [chat, idsKey]);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(new Set<string>());

  async function toggle(emoji: string) {
    if (busy.current.has(emoji)) return; // the answer decides the next toggle's direction
    busy.current.add(emoji);
    setError(await chat.toggleReaction(message.room_id, message.seq, emoji));
    busy.current.delete(emoji);
  }

  const nameOf = (id: number) => names[ids.indexOf(id)] ?? `user ${id}`;
  return (
    <div className="reactions">
      {reactions.map((r) => (
        <button
          key={r.emoji}
          type="button"
          className="reaction"
          aria-pressed={r.me}
          aria-label={chipLabel(r)}
          title={whoReacted(r, nameOf)}
          onClick={() => void toggle(r.emoji)}
          disabled={readOnly}
        >
          <span className="emoji">{r.emoji}</span> {r.count}
        </button>
      ))}
      {!readOnly && <ReactionPicker onPick={(emoji) => void toggle(emoji)} />}
      {error && (
        <p className="field-error reaction-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function chipLabel(r: Reaction): string {
  const count = `${r.count} ${r.count === 1 ? "reaction" : "reactions"}`;
  return `${r.emoji} ${count}${r.me ? ", including you" : ""}; react with ${r.emoji}`;
}

function whoReacted(r: Reaction, nameOf: (id: number) => string): string {
  const named = r.user_ids.map(nameOf);
  const more = r.count - r.user_ids.length;
  return `${named.join(", ")}${more > 0 ? ` and ${more} more` : ""} reacted with ${r.emoji}`;
}

/** The "Add reaction" button and its menu of common emoji; closes on a pick, Escape or a click outside. */
function ReactionPicker({ onPick }: { onPick: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    if (!open) return;
    const place = () => placeMenu(trigger.current, menu.current);
    place();
    menu.current?.querySelector("button")?.focus({ preventScroll: true });
    const outside = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", outside);
    window.addEventListener("scroll", place, true);
    window.addEventListener("resize", place);
    return () => {
      document.removeEventListener("pointerdown", outside);
      window.removeEventListener("scroll", place, true);
      window.removeEventListener("resize", place);
    };
  }, [open]);

  function close() {
    setOpen(false);
    trigger.current?.focus();
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const items = [...(menu.current?.querySelectorAll("button") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS }[event.key];
    if (event.key === "Escape") close();
    else if (event.key === "Tab") close(); // from the button, Tab goes on past it
    else if (event.key === "Home") items[0]?.focus();
    else if (event.key === "End") items.at(-1)?.focus();
    else if (step !== undefined) items[(at + step + items.length) % items.length]?.focus();
    else return;
    if (event.key !== "Tab") event.preventDefault();
  }

  return (
    <div className="reaction-add" ref={root}>
      <button
        ref={trigger}
        type="button"
        className="reaction-add-button"
        aria-label="Add reaction"
        title="Add reaction"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">☺+</span>
      </button>
      {open && (
        <div ref={menu} role="menu" aria-label="Reactions" className="reaction-picker" onKeyDown={onKeyDown}>
          {PICKS.map(([emoji, name]) => (
            <button
              key={emoji}
              type="button"
              role="menuitem"
              aria-label={name}
              title={name}
              onClick={() => {
                close();
                onPick(emoji);
              }}
            >
              <span className="emoji">{emoji}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/** Put the menu (position: fixed) under the button, or above it when there is no room below; on screen. */
function placeMenu(trigger: HTMLElement | null, menu: HTMLElement | null): void {
  if (!trigger || !menu) return;
  const margin = 8;
  const at = trigger.getBoundingClientRect();
  const { offsetWidth: width, offsetHeight: height } = menu;
  const below = at.bottom + 4 + height <= window.innerHeight - margin;
  const top = below ? at.bottom + 4 : Math.max(margin, at.top - 4 - height);
  const fitsRight = at.left + width <= window.innerWidth - margin;
  const left = fitsRight ? at.left : Math.max(margin, Math.min(at.right, window.innerWidth - margin) - width);
  menu.style.top = `${top}px`;
  menu.style.left = `${left}px`;
}
