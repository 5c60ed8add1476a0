"use client";

import { listNames } from "@/lib/format";
import { userName } from "@/lib/state/users";
import { useStore } from "./ChatContext";

/** "alice is typing…", from typing frames until they expire. */
export function TypingIndicator({ roomId }: { roomId: number }) {
  const typing = useStore((s) => s.live.typing[roomId]);
  const users = useStore((s) => s.users);
  const names = Object.keys(typing ?? {}).map((id) => userName(users, Number(id)));
  const text = names.length === 0 ? "" : `${listNames(names)} ${names.length === 1 ? "is" : "are"} typing…`;
  return (
    <div className="typing" aria-live="polite" data-testid="typing">
      {text}
    </div>
  );
}
