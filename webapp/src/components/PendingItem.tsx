"use client";

import type { PendingSend } from "@/lib/state/outbox";
import { Attachments } from "./Attachments";
import { useChat, useStore } from "./ChatContext";
import { MessageBody } from "./MessageBody";

/** My message on its way: shown at once, replaced by the stored one when the server confirms it. */
export function PendingItem({ pending }: { pending: PendingSend }) {
  const chat = useChat();
  const me = useStore((s) => s.users.me?.username ?? null);
  const failed = pending.state === "failed";
  return (
    <li className={`message own pending${failed ? " failed" : ""}`} data-testid="pending-message">
      {/* The server has not said yet whether @room counts: until it does, @room is text. */}
      <MessageBody body={pending.body} me={me} mentionsRoom={false} />
      <Attachments files={pending.files ?? []} />
      <p className="message-meta">
        {failed ? (
          <>
            <span className="field-error">Not sent: {pending.error}</span>{" "}
            <button type="button" className="link" onClick={() => chat.retrySend(pending.clientMsgId)}>
              Retry
            </button>{" "}
            <button type="button" className="link" onClick={() => chat.discardSend(pending.clientMsgId)}>
              Discard
            </button>
          </>
        ) : (
          <span>Sending…</span>
        )}
      </p>
    </li>
  );
}
