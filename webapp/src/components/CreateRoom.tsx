"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import type { User } from "@/lib/types";
import { useChat } from "./ChatContext";
import { PanelHeader } from "./PanelHeader";
import { findUser } from "./userLookup";

/** A new public channel or private room, with people invited by username. */
export function CreateRoom() {
  const chat = useChat();
  const router = useRouter();
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [kind, setKind] = useState<"public" | "private">("private");
  const [invitee, setInvitee] = useState("");
  const [invited, setInvited] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [inviteError, setInviteError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function addInvitee() {
    const username = invitee.trim().toLowerCase();
    setInviteError(null);
    if (!username) return setInviteError("Enter a username to invite.");
    if (invited.some((u) => u.username === username)) return setInviteError(`${username} is invited already.`);
    const user = await findUser(chat.api, username);
    if (typeof user === "string") return setInviteError(user);
    if (user.id === chat.store.getState().users.me?.id) return setInviteError("You are in the room anyway.");
    setInvited((list) => [...list, user]);
    setInvitee("");
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!name.trim()) return setError("Give the room a name.");
    if (name.trim().length > 80) return setError("A room name has at most 80 characters.");
    setBusy(true);
    try {
      const room = await chat.api.createRoom(kind, name.trim(), topic.trim(), invited.map((u) => u.id));
      chat.addRoom(room, "owner");
      router.push(`/rooms/${room.id}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not create the room.");
      setBusy(false);
    }
  }

  return (
    <main className="panel" aria-labelledby="create-title">
      <PanelHeader id="create-title" title="Create a room" />
      <form className="stack-form" onSubmit={submit} noValidate>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label htmlFor="room-name">Name</label>
        <input id="room-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required />
        <label htmlFor="room-topic">Topic (optional)</label>
        <input id="room-topic" value={topic} onChange={(e) => setTopic(e.target.value)} />
        <fieldset>
          <legend>Who can join</legend>
          <label className="choice">
            <input type="radio" name="kind" checked={kind === "private"} onChange={() => setKind("private")} />
            Private: only people invited
          </label>
          <label className="choice">
            <input type="radio" name="kind" checked={kind === "public"} onChange={() => setKind("public")} />
            Public: anyone can find and join it
          </label>
        </fieldset>
        <label htmlFor="invitee">Invite by username</label>
        <div className="inline-form">
          <input
            id="invitee"
            value={invitee}
            autoCapitalize="none"
            spellCheck={false}
            onChange={(e) => setInvitee(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                void addInvitee();
              }
            }}
            aria-describedby="invite-help"
          />
          <button type="button" onClick={() => void addInvitee()}>
            Add
          </button>
        </div>
        <p id="invite-help" className={inviteError ? "field-error" : "field-help"} role={inviteError ? "alert" : undefined}>
          {inviteError ?? "Press Enter or Add for each person. Each gets an invitation and joins on accepting."}
        </p>
        {invited.length > 0 && (
          <ul className="chips" aria-label="Invited">
            {invited.map((user) => (
              <li key={user.id} className="chip">
                {user.username}
                <button
                  type="button"
                  className="link"
                  aria-label={`Remove ${user.username}`}
                  onClick={() => setInvited((list) => list.filter((u) => u.id !== user.id))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create room"}
        </button>
      </form>
    </main>
  );
}
