// Browser notifications for messages that arrive while the tab is hidden: which ones notify (the
// room's level, docs/conversations.md "Notification levels") and showing them through the
// Notification API. Permission is only ever asked from a click (askPermission), never on load.

import type { Message, NotificationLevel } from "./types";

/** Whether a message mentions this user, by name or through `@room` (chat_svc decided both). */
export function mentionsUser(message: Message, userId: number | undefined): boolean {
  return message.mentions_room || (userId !== undefined && message.mentioned_user_ids.includes(userId));
}

/**
 * Whether someone else's new message notifies at this level: `none` never, `mentions` when it
 * mentions me, `all` also for every message of the main timeline (a thread reply that is not also
 * sent to the room notifies only when it mentions me; its root's summary shows the rest).
 */
export function notifies(level: NotificationLevel, mentioned: boolean, inMainTimeline: boolean): boolean {
  if (level === "none") return false;
  return mentioned || (level === "all" && inMainTimeline);
}

export type Permission = NotificationPermission | "unsupported";

export interface ShownNotification {
  title: string;
  body: string;
  /** One per room: a newer message replaces the room's previous notification. */
  tag: string;
  /** Where a click on it leads (an app path). */
  path: string;
}

/** The Notification API, or nothing where the browser has none (tests pass their own). */
export class Notifier {
  /** `onOpen` goes to an app path: where a click on a notification leads. */
  constructor(
    private readonly onOpen: (path: string) => void = () => undefined,
    private readonly api: typeof Notification | undefined = globalThis.Notification,
  ) {}

  permission(): Permission {
    return this.api ? this.api.permission : "unsupported";
  }

  /** Ask for permission: only call this from a click. */
  async askPermission(): Promise<Permission> {
    if (!this.api) return "unsupported";
    return this.api.requestPermission();
  }

  show({ title, body, tag, path }: ShownNotification): void {
    if (this.api?.permission !== "granted") return;
    try {
      const shown = new this.api(title, { body: body.length > 140 ? `${body.slice(0, 139)}…` : body, tag });
      shown.onclick = () => {
        globalThis.focus?.();
        this.onOpen(path);
        shown.close();
      };
    } catch {
      // some browsers (Android Chrome) only notify from a service worker: nothing to show then
    }
  }
}
