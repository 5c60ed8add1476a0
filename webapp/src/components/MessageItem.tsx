"use client";

import Link from "next/link";
import { useState, type KeyboardEvent } from "react";
import { ApiError } from "@/lib/api";
import { timeLabel } from "@/lib/format";
import { mentionsUser } from "@/lib/notifications";
import { tombstoneText } from "@/lib/readOnly";
import { threadRootOf } from "@/lib/timeline";
import type { Message, ThreadSummary } from "@/lib/types";
import { userName } from "@/lib/state/users";
import { Attachments } from "./Attachments";
import { shallowEqual, useChat, useStore } from "./ChatContext";
import { MessageBody } from "./MessageBody";
import { Reactions } from "./Reactions";

interface Props {
  message: Message;
  own: boolean;
  /** Mine, or I moderate the room (docs/conversations.md). */
  deletable: boolean;
  /** Shown in a thread's panel (no thread links there). */
  inThread?: boolean;
  /** The message a link (a search hit) jumped to: flashed once. */
  jumpTarget?: boolean;
  /** The room is archived: read-only, so no edits, reactions or replies are offered. */
  readOnly?: boolean;
}

/** One stored message; mine can be edited, mine (or any, for moderators) deleted. Text is never HTML. */
export function MessageItem({ message, own, deletable, inThread = false, jumpTarget = false, readOnly = false }: Props) {
  const chat = useChat();
  const deleter = useStore((s) =>
    message.deleted_by && message.deleted_by !== message.sender_id ? userName(s.users, message.deleted_by) : null,
  );
  const me = useStore((s) => s.users.me);
  const [mode, setMode] = useState<"view" | "edit" | "confirm-delete">("view");
  const [draft, setDraft] = useState(message.body);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      setMode("view");
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "That did not work.");
    } finally {
      setBusy(false);
    }
  }

  function save() {
    const body = draft.trim();
    if (!body || body === message.body) return setMode("view");
    void run(() => chat.edit(message.room_id, message.seq, body));
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      save();
    } else if (event.key === "Escape") {
      setMode("view");
    }
  }

  // Someone else asks for my attention (my own message never does, even when it says @room).
  const mentionsMe =
    !own && !message.deleted && mentionsUser(message, me?.id);
  const classes =
    `message${own ? " own" : ""}${message.deleted ? " deleted" : ""}${message.taken_down ? " taken-down" : ""}` +
    (mentionsMe ? " mentions-me" : "");
  return (
    <li className={classes} data-seq={message.seq} data-testid="message" data-jump-target={jumpTarget || undefined}>
      {mode === "edit" ? (
        <div className="edit-box">
          <label className="sr-only" htmlFor={`edit-${message.seq}`}>
            Edit message
          </label>
          <textarea
            id={`edit-${message.seq}`}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKeyDown}
            autoFocus
          />
          <button type="button" className="primary" onClick={save} disabled={busy}>
            Save
          </button>
          <button type="button" onClick={() => setMode("view")}>
            Cancel
          </button>
        </div>
      ) : message.deleted ? (
        <p className="message-body tombstone" data-testid="tombstone">
          {tombstoneText(message, deleter)}
        </p>
      ) : (
        <MessageBody body={message.body} me={me?.username ?? null} mentionsRoom={message.mentions_room} />
      )}
      {!message.deleted && <Attachments files={message.files ?? []} />}
      <p className="message-meta">
        <time dateTime={message.created_at}>{timeLabel(message.created_at)}</time>
        {message.edited_at && !message.deleted && <span className="edited"> (edited)</span>}
        {!inThread && message.thread_root_seq > 0 && (
          <Link className="reply-of" href={threadHref(message.room_id, message.thread_root_seq)}>
            {" "}
            · in a thread
          </Link>
        )}
        {!message.deleted && mode === "view" && (
          <span className="message-actions">
            {!inThread && !readOnly && (
              <Link className="link" href={threadHref(message.room_id, threadRootOf(message))}>
                Reply in thread
              </Link>
            )}
            {own && deletable && !readOnly && (
              <button
                type="button"
                className="link"
                onClick={() => {
                  setDraft(message.body);
                  setMode("edit");
                }}
              >
                Edit
              </button>
            )}
            {deletable && (
              <button type="button" className="link" onClick={() => setMode("confirm-delete")}>
                Delete
              </button>
            )}
          </span>
        )}
        {mode === "confirm-delete" && (
          <span className="message-actions" role="group" aria-label="Confirm delete">
            {own ? "Delete this message?" : "Delete this message for everyone, as a moderator?"}{" "}
            <button
              type="button"
              className="link danger"
              onClick={() => void run(() => chat.remove(message.room_id, message.seq))}
              disabled={busy}
            >
              Delete
            </button>
            <button type="button" className="link" onClick={() => setMode("view")}>
              Keep
            </button>
          </span>
        )}
      </p>
      {!message.deleted && <Reactions message={message} readOnly={readOnly} />}
      {!inThread && message.thread && message.thread.reply_count > 0 && (
        <ThreadLink roomId={message.room_id} rootSeq={message.seq} thread={message.thread} />
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

export function threadHref(roomId: number, rootSeq: number): string {
  return `/rooms/${roomId}?thread=${rootSeq}`;
}

/** A root's summary under it: how many replies, by whom, when the last came; opens the thread. */
function ThreadLink({ roomId, rootSeq, thread }: { roomId: number; rootSeq: number; thread: ThreadSummary }) {
  const names = useStore((s) => thread.participant_ids.map((id) => userName(s.users, id)), shallowEqual);
  const count = thread.reply_count;
  return (
    <Link className="thread-link" href={threadHref(roomId, rootSeq)} data-testid="thread-summary">
      <span className="thread-people" aria-hidden="true">
        {names.slice(0, 3).map((name) => (
          <span key={name} className="avatar" title={name}>
            {name.slice(0, 1).toUpperCase()}
          </span>
        ))}
      </span>
      <span className="thread-count">
        {count} {count === 1 ? "reply" : "replies"}
      </span>
      {thread.last_reply_at && (
        <span className="thread-last">
          Last reply <time dateTime={thread.last_reply_at}>{timeLabel(thread.last_reply_at)}</time>
        </span>
      )}
    </Link>
  );
}
