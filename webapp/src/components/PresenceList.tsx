"use client";

import { useChatState } from "./ChatContext";

/** Who has the room open right now. */
export function PresenceList({ roomId }: { roomId: number }) {
  const { presence, users, me } = useChatState();
  const online = presence[roomId] ?? [];
  const names = online.map((id) => (id === me?.id ? "you" : (users[id]?.username ?? `user ${id}`)));
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
