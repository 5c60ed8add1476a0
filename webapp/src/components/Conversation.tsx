"use client";

import Link from "next/link";
import { useEffect } from "react";
import { findRoom, roomTitle } from "@/lib/state/rooms";
import { useChat, useStore } from "./ChatContext";
import { Composer } from "./Composer";
import { RoomIcon } from "./RoomIcon";
import { JoinPrompt } from "./JoinPrompt";
import { MessageList } from "./MessageList";
import { PresenceList } from "./PresenceList";
import { TypingIndicator } from "./TypingIndicator";

export function Conversation({ roomId }: { roomId: number }) {
  const chat = useChat();
  const entry = useStore((s) => findRoom(s.rooms, roomId));
  const roomsLoaded = useStore((s) => s.rooms.loaded);
  const title = useStore((s) => (entry ? roomTitle(entry.room, s.users) : ""));
  const isMember = entry !== undefined;

  useEffect(() => {
    if (!isMember) return;
    chat.setActiveRoom(roomId);
    const onVisible = () => {
      if (document.visibilityState === "visible") chat.markRead(roomId);
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      document.removeEventListener("visibilitychange", onVisible);
      chat.setActiveRoom(null);
    };
  }, [chat, roomId, isMember]);

  if (!entry) {
    return roomsLoaded ? <JoinPrompt roomId={roomId} /> : <p className="boot">Loading…</p>;
  }
  const { room } = entry;
  return (
    <main className="conversation" aria-labelledby="room-title">
      <header className="conversation-head">
        <Link href="/" className="back" aria-label="Back to conversations">
          ‹
        </Link>
        <div className="conversation-title">
          <h1 id="room-title">
            <RoomIcon kind={room.kind} /> {title}
          </h1>
          <p className="room-meta">
            {room.kind === "direct"
              ? "Direct conversation"
              : `${room.kind === "private" ? "Private" : "Public"} · ${room.member_count} member${room.member_count === 1 ? "" : "s"}`}
            {room.topic ? ` · ${room.topic}` : ""}
          </p>
        </div>
        <PresenceList roomId={roomId} />
        {room.kind !== "direct" && (
          <Link href={`/rooms/${roomId}/settings`} className="head-action" aria-label="Room settings and members">
            Settings
          </Link>
        )}
      </header>
      <MessageList roomId={roomId} />
      <TypingIndicator roomId={roomId} />
      <Composer roomId={roomId} label={`Message ${room.kind === "direct" ? "@" : "#"}${title}`} />
    </main>
  );
}
