"use client";

import { useChatState } from "./ChatContext";

/** Reads new messages of the open conversation to screen readers. */
export function LiveAnnouncer() {
  const { announcement } = useChatState();
  return (
    <div className="sr-only" aria-live="polite" aria-atomic="true">
      {announcement}
    </div>
  );
}
