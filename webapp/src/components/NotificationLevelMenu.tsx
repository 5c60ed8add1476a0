"use client";

import { useState } from "react";
import { ApiError } from "@/lib/api";
import { findRoom } from "@/lib/state/rooms";
import type { NotificationLevel } from "@/lib/types";
import { useChat, useStore } from "./ChatContext";

const LEVELS: { level: NotificationLevel; label: string }[] = [
  { level: "all", label: "All messages" },
  { level: "mentions", label: "Mentions only" },
  { level: "none", label: "Muted" },
];

/** My notification level for a room, kept by the server so that every device follows it. */
export function NotificationLevelMenu({ roomId }: { roomId: number }) {
  const chat = useChat();
  const level = useStore((s) => findRoom(s.rooms, roomId)?.notification_level ?? "mentions");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function change(next: NotificationLevel) {
    setBusy(true);
    setError(null);
    try {
      await chat.setNotificationLevel(roomId, next);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not change notifications.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="notify-level">
      <label htmlFor={`notify-${roomId}`} className="sr-only">
        Notifications for this room
      </label>
      <span aria-hidden="true" className="notify-icon">
        {level === "none" ? "🔕" : "🔔"}
      </span>
      <select
        id={`notify-${roomId}`}
        value={level}
        disabled={busy}
        onChange={(e) => void change(e.target.value as NotificationLevel)}
        aria-invalid={error !== null}
        title={error ?? "When this room notifies you"}
      >
        {LEVELS.map(({ level: value, label }) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      {error && (
        <span className="sr-only" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
