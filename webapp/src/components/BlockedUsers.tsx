"use client";

import { useState } from "react";
import { ApiError } from "@/lib/api";
import { userName } from "@/lib/state/users";
import { useChat, useStore } from "./ChatContext";

/** The people I blocked, folded away in the sidebar's foot, each with Unblock. */
export function BlockedUsers() {
  const blocked = useStore((s) => s.rooms.blocked);
  const users = useStore((s) => s.users);
  const chat = useChat();
  const [error, setError] = useState<string | null>(null);
  if (blocked.length === 0) return null;

  async function unblock(userId: number) {
    setError(null);
    try {
      await chat.setBlocked(userId, false);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not unblock them; try again.");
    }
  }

  return (
    <details className="blocked-users">
      <summary>Blocked ({blocked.length})</summary>
      <ul>
        {blocked.map((userId) => (
          <li key={userId}>
            <span>{userName(users, userId)}</span>{" "}
            <button type="button" className="link" onClick={() => void unblock(userId)}>
              Unblock<span className="sr-only"> {userName(users, userId)}</span>
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </details>
  );
}
