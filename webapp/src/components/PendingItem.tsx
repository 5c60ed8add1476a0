"use client";

import type { PendingSend } from "@/lib/state/outbox";
import { useChat } from "./ChatContext";

/** My message on its way: shown at once, replaced by the stored one when the server confirms it. */
export function PendingItem({ pending }: { pending: PendingSend }) {
  const chat = useChat();
  const failed = pending.state === "failed";
  return (
    <li className={`message own pending${failed ? " failed" : ""}`} data-testid="pending-message">
      <p className="message-body">{pending.body}</p>
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
