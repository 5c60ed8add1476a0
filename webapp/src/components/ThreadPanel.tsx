"use client";

import Link from "next/link";
import { useEffect } from "react";
import { findThread } from "@/lib/state/threads";
import { useChat, useStore } from "./ChatContext";
import { Composer } from "./Composer";
import { MessageList } from "./MessageList";

interface Props {
  roomId: number;
  rootSeq: number;
  roomLabel: string;
  /** A reply a link jumped to (scrolled to once held). */
  focusSeq?: number;
  /** Why no reply can be sent (an archived room); empty when one can. */
  readOnly?: string;
}

/** One thread beside its room (over it, on a narrow screen): its root, its replies, a composer for replies. */
export function ThreadPanel({ roomId, rootSeq, roomLabel, focusSeq = 0, readOnly = "" }: Props) {
  const chat = useChat();
  const replies = useStore((s) => {
    const thread = findThread(s.threads, roomId, rootSeq);
    return thread?.messages.find((m) => m.seq === rootSeq)?.thread?.reply_count;
  });

  useEffect(() => chat.openThread(roomId, rootSeq), [chat, roomId, rootSeq]);

  return (
    <aside className="thread-panel" aria-labelledby="thread-title">
      <header className="thread-head">
        <div>
          <h2 id="thread-title">Thread</h2>
          <p className="room-meta">
            {roomLabel}
            {replies ? ` · ${replies} ${replies === 1 ? "reply" : "replies"}` : ""}
          </p>
        </div>
        <Link href={`/rooms/${roomId}`} className="head-action" aria-label="Close thread">
          ✕
        </Link>
      </header>
      <MessageList roomId={roomId} rootSeq={rootSeq} focusSeq={focusSeq} />
      <Composer roomId={roomId} rootSeq={rootSeq} label="Reply in thread" roomLabel={roomLabel} readOnly={readOnly} />
    </aside>
  );
}
