"use client";

import { useStore } from "./ChatContext";

/** Reads new messages of the open conversation to screen readers. */
export function LiveAnnouncer() {
  const announcement = useStore((s) => s.live.announcement);
  return (
    <div className="sr-only" aria-live="polite" aria-atomic="true">
      {announcement}
    </div>
  );
}
