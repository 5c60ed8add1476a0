"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { ApiError } from "@/lib/api";
import { roomTitle } from "@/lib/state/rooms";
import type { Invitation } from "@/lib/types";
import { useChat, useStore } from "./ChatContext";

/** Invitations waiting for my answer, at the top of the sidebar: nobody joins a room without saying yes. */
export function Invitations() {
  const invitations = useStore((s) => s.rooms.invitations);
  const users = useStore((s) => s.users);
  const chat = useChat();
  const router = useRouter();
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (invitations.length === 0) return null;

  async function answer(invitation: Invitation, reply: "accept" | "decline" | "block") {
    setBusy(invitation.room.id);
    setError(null);
    try {
      if (reply === "accept") {
        const room = await chat.acceptInvitation(invitation);
        router.push(`/rooms/${room.id}`);
      } else if (reply === "decline") {
        await chat.declineInvitation(invitation);
      } else {
        // Blocking ends every invitation of theirs, and they cannot message or invite me again.
        await chat.setBlocked(invitation.inviter_id, true);
      }
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not answer the invitation; try again.");
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="invitations" aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <ul className="invitation-list">
        {invitations.map((invitation) => {
          const inviter = users.byId[invitation.inviter_id]?.username ?? `user ${invitation.inviter_id}`;
          const direct = invitation.room.kind === "direct";
          const title = direct ? `${inviter} wants to message you` : `${inviter} invited you to ${roomTitle(invitation.room, users)}`;
          return (
            <li key={invitation.room.id} className="invitation" data-room-id={invitation.room.id}>
              <span className="invitation-title">{title}</span>
              <span className="invitation-actions">
                <button
                  type="button"
                  className="primary"
                  disabled={busy === invitation.room.id}
                  onClick={() => void answer(invitation, "accept")}
                >
                  Accept
                </button>
                <button type="button" disabled={busy === invitation.room.id} onClick={() => void answer(invitation, "decline")}>
                  Decline
                </button>
                <button
                  type="button"
                  className="link danger"
                  aria-label={`Block ${inviter}`}
                  title={`Block ${inviter}: no messages or invitations from them`}
                  disabled={busy === invitation.room.id}
                  onClick={() => void answer(invitation, "block")}
                >
                  Block
                </button>
              </span>
            </li>
          );
        })}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
