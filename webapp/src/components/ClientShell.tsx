"use client";

import dynamic from "next/dynamic";

// The chat lives in the browser only (tokens in localStorage, one WebSocket): no server rendering.
export const ClientShell = dynamic(() => import("./ChatShell").then((m) => m.ChatShell), {
  ssr: false,
  loading: () => (
    <p className="boot" role="status">
      Loading…
    </p>
  ),
});
