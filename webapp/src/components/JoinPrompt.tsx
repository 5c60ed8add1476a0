"use client";

import { useEffect, useState } from "react";
import { ApiError } from "@/lib/api";
import type { Room } from "@/lib/types";
import { useChat } from "./ChatContext";

/** A room I am not in: join it when it is a public channel. */
export function JoinPrompt({ roomId }: { roomId: number }) {
  const chat = useChat();
  const [room, setRoom] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    chat.api.room(roomId).then(
      (found) => live && setRoom(found),
      (caught: unknown) => live && setError(caught instanceof ApiError ? caught.message : "Cannot load this room."),
    );
    return () => {
      live = false;
    };
  }, [chat, roomId]);

  async function join() {
    setBusy(true);
    try {
      chat.addRoom(await chat.api.join(roomId));
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not join.");
      setBusy(false);
    }
  }

  return (
    <main className="panel">
      {error && <p className="form-error" role="alert">{error}</p>}
      {room && (
        <>
          <h1>#{room.name}</h1>
          {room.topic && <p>{room.topic}</p>}
          <p>
            {room.member_count} member{room.member_count === 1 ? "" : "s"}. You are not a member yet.
          </p>
          {room.kind === "public" && (
            <button type="button" className="primary" onClick={join} disabled={busy}>
              Join #{room.name}
            </button>
          )}
        </>
      )}
    </main>
  );
}
