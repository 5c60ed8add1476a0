"use client";

import Link from "next/link";
import { useStore } from "./ChatContext";

/** The main pane when no conversation is open. */
export function Welcome() {
  const me = useStore((s) => s.users.me);
  const { list: rooms, loaded: roomsLoaded } = useStore((s) => s.rooms);
  return (
    <main className="welcome" aria-labelledby="welcome-title">
      <h1 id="welcome-title">Welcome{me ? `, ${me.username}` : ""}</h1>
      {roomsLoaded && rooms.length === 0 ? (
        <p>You are not in any conversation yet.</p>
      ) : (
        <p>Pick a conversation on the left, or start a new one.</p>
      )}
      <ul className="welcome-actions">
        <li>
          <Link href="/browse">Browse public channels</Link>
        </li>
        <li>
          <Link href="/new">Create a room</Link>
        </li>
        <li>
          <Link href="/direct">Message someone</Link>
        </li>
      </ul>
    </main>
  );
}
