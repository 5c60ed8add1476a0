"use client";

import { useState } from "react";
import type { Permission } from "@/lib/notifications";
import { useChat } from "./ChatContext";

/** Offers browser notifications; the permission prompt only ever follows this click. */
export function NotificationPermission() {
  const chat = useChat();
  // The chat shell renders in the browser only (ClientShell), so the API can be read at once.
  const [permission, setPermission] = useState<Permission>(() => chat.notifier.permission());

  if (permission === "default") {
    return (
      <p className="notify-permission">
        <button type="button" onClick={() => void chat.notifier.askPermission().then(setPermission)}>
          Enable notifications
        </button>
      </p>
    );
  }
  if (permission === "denied") {
    return <p className="notify-permission">Notifications are blocked in this browser&apos;s site settings.</p>;
  }
  return null;
}
