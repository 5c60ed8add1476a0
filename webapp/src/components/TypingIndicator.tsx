"use client";

import { listNames } from "@/lib/format";
import { useChatState } from "./ChatContext";

/** "alice is typing…", from typing frames until they expire. */
export function TypingIndicator({ roomId }: { roomId: number }) {
  const { typing, users } = useChatState();
  const ids = Object.keys(typing[roomId] ?? {}).map(Number);
  const names = ids.map((id) => users[id]?.username ?? `user ${id}`);
  const text = names.length === 0 ? "" : `${listNames(names)} ${names.length === 1 ? "is" : "are"} typing…`;
  return (
    <div className="typing" aria-live="polite" data-testid="typing">
      {text}
    </div>
  );
}
