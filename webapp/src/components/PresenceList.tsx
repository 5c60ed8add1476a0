"use client";

import { userName } from "@/lib/state/users";
import { useStore } from "./ChatContext";

const NOBODY: readonly number[] = [];

/** Who has the room open right now. */
export function PresenceList({ roomId }: { roomId: number }) {
  const online = useStore((s) => s.live.presence[roomId] ?? NOBODY);
  const users = useStore((s) => s.users);
  const names = online.map((id) => (id === users.me?.id ? "you" : userName(users, id)));
  return (
    <section className="presence" aria-label="Online now" data-testid="presence">
      <span className="presence-count">
        <span className="dot" aria-hidden="true" /> {online.length} online
      </span>
      <ul className="presence-names">
        {names.map((name, i) => (
          <li key={online[i]}>{name}</li>
        ))}
      </ul>
    </section>
  );
}
