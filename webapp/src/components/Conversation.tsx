"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect } from "react";
import { ARCHIVED_COMPOSER, archivedBanner, isArchived } from "@/lib/readOnly";
import { positiveParam } from "@/lib/search";
import { findRoom, roomTitle } from "@/lib/state/rooms";
import { useChat, useStore } from "./ChatContext";
import { Composer } from "./Composer";
import { RoomIcon } from "./RoomIcon";
import { JoinPrompt } from "./JoinPrompt";
import { MessageList } from "./MessageList";
import { NotificationLevelMenu } from "./NotificationLevelMenu";
import { PresenceList } from "./PresenceList";
import { ThreadPanel } from "./ThreadPanel";
import { TypingIndicator } from "./TypingIndicator";

export function Conversation({ roomId }: { roomId: number }) {
  const chat = useChat();
  const entry = useStore((s) => findRoom(s.rooms, roomId));
  const roomsLoaded = useStore((s) => s.rooms.loaded);
  const title = useStore((s) => (entry ? roomTitle(entry.room, s.users) : ""));
  const isMember = entry !== undefined;
  const params = useSearchParams();
  const rootSeq = positiveParam(params.get("thread"));
  // ?seq=n: a link to one message (a search hit): in the thread panel when a thread is open too.
  const focusSeq = positiveParam(params.get("seq"));

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

  useEffect(() => {
    if (isMember && focusSeq > 0 && rootSeq === 0) void chat.loadAround(roomId, focusSeq);
  }, [chat, roomId, isMember, focusSeq, rootSeq]);

  if (!entry) {
    return roomsLoaded ? <JoinPrompt roomId={roomId} /> : <p className="boot">Loading…</p>;
  }
  const { room } = entry;
  const roomLabel = `${room.kind === "direct" ? "@" : "#"}${title}`;
  const archived = isArchived(room);
  return (
    <div className="room-view" data-thread={rootSeq > 0 ? "open" : undefined}>
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
          <NotificationLevelMenu roomId={roomId} />
          {room.kind !== "direct" && (
            <Link href={`/rooms/${roomId}/settings`} className="head-action" aria-label="Room settings and members">
              Settings
            </Link>
          )}
        </header>
        {archived && (
          <p className="archived-banner" role="status" data-testid="archived-banner">
            <strong>Archived.</strong> {archivedBanner(room)}
          </p>
        )}
        <MessageList roomId={roomId} focusSeq={rootSeq > 0 ? 0 : focusSeq} />
        <TypingIndicator roomId={roomId} />
        <Composer roomId={roomId} label={`Message ${roomLabel}`} readOnly={archived ? ARCHIVED_COMPOSER : ""} />
      </main>
      {rootSeq > 0 && (
        <ThreadPanel
          key={rootSeq}
          roomId={roomId}
          rootSeq={rootSeq}
          roomLabel={roomLabel}
          focusSeq={focusSeq}
          readOnly={archived ? ARCHIVED_COMPOSER : ""}
        />
      )}
    </div>
  );
}
