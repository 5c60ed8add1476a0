"use client";

import { useId, useRef, useState, type ClipboardEvent, type FormEvent, type KeyboardEvent } from "react";
import { blockedBy, uploadedFiles } from "@/lib/files/uploads";
import { useChat } from "./ChatContext";
import { DropZone } from "./DropZone";
import { useMentionCompletion } from "./MentionCompletion";
import { UploadTray } from "./UploadTray";
import { useUploads } from "./useUploads";

const MAX_CHARS = 4000;

interface Props {
  roomId: number;
  label: string;
  /** Reply in this thread (0: post in the room). */
  rootSeq?: number;
  /** The room as named in "Also send to …" (threads only). */
  roomLabel?: string;
  /** Why nothing can be sent here (an archived room): the box is off and says so. */
  readOnly?: string;
}

/**
 * The message box: Enter sends, Shift+Enter starts a new line. In a thread it posts replies. Files come
 * by the paperclip, by pasting, or dropped on the conversation; they upload at once, and Send waits for them.
 */
export function Composer({ roomId, label, rootSeq = 0, roomLabel = "", readOnly = "" }: Props) {
  const chat = useChat();
  const [text, setText] = useState("");
  const [alsoInRoom, setAlsoInRoom] = useState(false);
  const inputId = useId();
  const hintId = useId();
  const tooLong = text.length > MAX_CHARS;
  const box = useRef<HTMLTextAreaElement>(null);
  const mentions = useMentionCompletion(roomId, box, text, setText);
  const form = useRef<HTMLFormElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const files = useUploads(roomId);
  const waiting = blockedBy(files.uploads);
  const empty = !text.trim() && files.uploads.length === 0;

  function send(event?: FormEvent) {
    event?.preventDefault();
    const body = text.trim();
    if (empty || tooLong || waiting || readOnly) return;
    const placement = { threadRootSeq: rootSeq, alsoInRoom: rootSeq > 0 && alsoInRoom };
    chat.send(roomId, body, placement, uploadedFiles(files.uploads));
    setText("");
    setAlsoInRoom(false);
    files.clear();
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const pasted = Array.from(event.clipboardData.files);
    if (pasted.length === 0) return; // plain text pastes as usual
    event.preventDefault();
    files.add(pasted);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (mentions.onKeyDown(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  const lines = Math.min(6, Math.max(1, text.split("\n").length));
  if (readOnly) {
    return (
      <form className="composer composer-off" aria-label={label} data-testid="composer-off">
        <label htmlFor={inputId} className="sr-only">
          {label}
        </label>
        <textarea id={inputId} rows={1} disabled value="" placeholder={label} aria-describedby={hintId} readOnly />
        <button type="submit" className="primary" disabled>
          Send
        </button>
        <p id={hintId} className="composer-hint">
          {readOnly}
        </p>
      </form>
    );
  }
  return (
    <form className="composer" onSubmit={send} ref={form}>
      <label htmlFor={inputId} className="sr-only">
        {label}
      </label>
      {mentions.list}
      <DropZone target={form} label={label} onFiles={files.add} />
      <UploadTray uploads={files.uploads} onRemove={files.remove} onRetry={files.retry} />
      <button
        type="button"
        className="attach"
        onClick={() => picker.current?.click()}
        aria-label="Attach files"
        title="Attach files"
      >
        <span aria-hidden="true">📎</span>
      </button>
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        onChange={(e) => {
          files.add(Array.from(e.target.files ?? []));
          e.target.value = ""; // picking the same file again is a new pick
        }}
      />
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
        onPaste={onPaste}
      />
      <button type="submit" className="primary" disabled={empty || tooLong || waiting !== null}>
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
          : (waiting ?? "Enter to send, Shift+Enter for a new line.")}
      </p>
      <p className="sr-only" aria-live="assertive" data-testid="upload-notice">
        {files.notice}
      </p>
    </form>
  );
}
