"use client";

import { useStore } from "./ChatContext";

/** A visible (and announced) notice while the connection is down or catching up. */
export function ConnectionBanner() {
  const { status, detail: statusDetail, everLive, serverTrouble, tooFast } = useStore((s) => s.connection);
  const down = status === "offline" || (!everLive && status === "connecting" && statusDetail !== "");
  const syncing = status === "syncing" && everLive;
  return (
    <div className="banner-slot" role="status" aria-live="polite">
      {down && (
        <div className="banner banner-offline" data-testid="connection-banner">
          <strong>Connection lost.</strong> {statusDetail || "Reconnecting…"} Messages you write now are sent when
          the connection is back.
        </div>
      )}
      {serverTrouble && status === "live" && (
        <div className="banner banner-syncing" data-testid="trouble-banner">
          <strong>The server is having trouble.</strong> Your messages are kept and sent as soon as it recovers.
        </div>
      )}
      {tooFast && (
        <div className="banner banner-syncing" data-testid="too-fast-banner">
          {tooFast}
        </div>
      )}
      {syncing && (
        <div className="banner banner-syncing" data-testid="syncing-banner">
          Back online, catching up…
        </div>
      )}
    </div>
  );
}
