"use client";

import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useChat } from "./ChatContext";
import { useMentionCompletion } from "./MentionCompletion";

const MAX_CHARS = 4000;

interface Props {
  roomId: number;
  label: string;
  /** Reply in this thread (0: post in the room). */
  rootSeq?: number;
  /** The room as named in "Also send to …" (threads only). */
  roomLabel?: string;
}

/** The message box: Enter sends, Shift+Enter starts a new line. In a thread it posts replies. */
export function Composer({ roomId, label, rootSeq = 0, roomLabel = "" }: Props) {
  const chat = useChat();
  const [text, setText] = useState("");
  const [alsoInRoom, setAlsoInRoom] = useState(false);
  const inputId = useId();
  const hintId = useId();
  const tooLong = text.length > MAX_CHARS;
  const box = useRef<HTMLTextAreaElement>(null);
  const mentions = useMentionCompletion(roomId, box, text, setText);

  function send(event?: FormEvent) {
    event?.preventDefault();
    const body = text.trim();
    if (!body || tooLong) return;
    chat.send(roomId, body, { threadRootSeq: rootSeq, alsoInRoom: rootSeq > 0 && alsoInRoom });
    setText("");
    setAlsoInRoom(false);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (mentions.onKeyDown(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  const lines = Math.min(6, Math.max(1, text.split("\n").length));
  return (
    <form className="composer" onSubmit={send}>
      <label htmlFor={inputId} className="sr-only">
        {label}
      </label>
      {mentions.list}
      <textarea
        ref={box}
        id={inputId}
        rows={lines}
        value={text}
        placeholder={label}
        aria-describedby={hintId}
        aria-invalid={tooLong}
        {...mentions.inputProps}
        onChange={(e) => {
          setText(e.target.value);
          mentions.update(e.target.value, e.target.selectionStart);
          if (e.target.value.trim()) chat.typing(roomId);
        }}
        onSelect={(e) => mentions.update(e.currentTarget.value, e.currentTarget.selectionStart)}
        onBlur={() => mentions.update("", 0)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="primary" disabled={!text.trim() || tooLong}>
        Send
      </button>
      {rootSeq > 0 && (
        <label className="also-in-room">
          <input type="checkbox" checked={alsoInRoom} onChange={(e) => setAlsoInRoom(e.target.checked)} /> Also send to{" "}
          {roomLabel}
        </label>
      )}
      <p id={hintId} className={tooLong ? "composer-hint field-error" : "composer-hint"}>
        {tooLong
          ? `${text.length - MAX_CHARS} characters over the limit of ${MAX_CHARS}.`
          : "Enter to send, Shift+Enter for a new line."}
      </p>
    </form>
  );
}
