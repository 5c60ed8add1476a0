"use client";

import { useId, useState, type FormEvent, type KeyboardEvent } from "react";
import { useChat } from "./ChatContext";

const MAX_CHARS = 4000;

/** The message box: Enter sends, Shift+Enter starts a new line. */
export function Composer({ roomId, label }: { roomId: number; label: string }) {
  const chat = useChat();
  const [text, setText] = useState("");
  const inputId = useId();
  const hintId = useId();
  const tooLong = text.length > MAX_CHARS;

  function send(event?: FormEvent) {
    event?.preventDefault();
    const body = text.trim();
    if (!body || tooLong) return;
    chat.send(roomId, body);
    setText("");
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
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
      <textarea
        id={inputId}
        rows={lines}
        value={text}
        placeholder={label}
        aria-describedby={hintId}
        aria-invalid={tooLong}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim()) chat.typing(roomId);
        }}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="primary" disabled={!text.trim() || tooLong}>
        Send
      </button>
      <p id={hintId} className={tooLong ? "composer-hint field-error" : "composer-hint"}>
        {tooLong
          ? `${text.length - MAX_CHARS} characters over the limit of ${MAX_CHARS}.`
          : "Enter to send, Shift+Enter for a new line."}
      </p>
    </form>
  );
}
