"use client";

import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { useChat } from "./ChatContext";
import { PanelHeader } from "./PanelHeader";
import { findUser } from "./userLookup";

/** Open (or create) a direct conversation with someone, by username. */
export function StartDirect() {
  const chat = useChat();
  const router = useRouter();
  const [username, setUsername] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = username.trim().toLowerCase();
    setError(null);
    if (!name) return setError("Enter the username of the person to message.");
    setBusy(true);
    const user = await findUser(chat.api, name);
    if (typeof user === "string") {
      setError(user);
      setBusy(false);
      return;
    }
    try {
      const { room } = await chat.api.direct(user.id);
      chat.addRoom(room);
      router.push(`/rooms/${room.id}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not start the conversation.");
      setBusy(false);
    }
  }

  return (
    <main className="panel" aria-labelledby="direct-title">
      <PanelHeader id="direct-title" title="Message someone" />
      <form className="stack-form" onSubmit={submit} noValidate>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label htmlFor="direct-user">Username</label>
        <input
          id="direct-user"
          value={username}
          autoCapitalize="none"
          spellCheck={false}
          onChange={(e) => setUsername(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Opening…" : "Start conversation"}
        </button>
      </form>
    </main>
  );
}
