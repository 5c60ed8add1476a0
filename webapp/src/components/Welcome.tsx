"use client";

import Link from "next/link";
import { useChatState } from "./ChatContext";

/** The main pane when no conversation is open. */
export function Welcome() {
  const { me, rooms, roomsLoaded } = useChatState();
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
