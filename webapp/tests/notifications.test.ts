import { describe, expect, it } from "vitest";
import { mentionsUser, Notifier, notifies } from "@/lib/notifications";
import { msg } from "./fixtures";

describe("notifies", () => {
  it("never notifies in a muted room, mentions or not", () => {
    expect(notifies("none", true, true)).toBe(false);
  });

  it("notifies of mentions only at the mentions level", () => {
    expect(notifies("mentions", true, false)).toBe(true);
    expect(notifies("mentions", false, true)).toBe(false);
  });

  it("notifies of every main-timeline message at the all level, and of a thread reply only when it mentions me", () => {
    expect(notifies("all", false, true)).toBe(true);
    expect(notifies("all", false, false)).toBe(false);
    expect(notifies("all", true, false)).toBe(true);
  });
});

describe("mentionsUser", () => {
  it("is true for my id among the mentioned and for @room", () => {
    expect(mentionsUser(msg(1, 1, { mentioned_user_ids: [2, 7] }), 7)).toBe(true);
    expect(mentionsUser(msg(1, 1, { mentions_room: true }), 7)).toBe(true);
    expect(mentionsUser(msg(1, 1, { mentioned_user_ids: [2] }), 7)).toBe(false);
  });
});

describe("Notifier", () => {
  it("shows nothing without permission, and opens the path when a shown one is clicked", () => {
    const shown: { title: string; notification: { onclick: (() => void) | null } }[] = [];
    class FakeNotification {
      static permission: NotificationPermission = "default";
      onclick: (() => void) | null = null;
      constructor(title: string) {
        shown.push({ title, notification: this });
      }
      close() {}
    }
    const opened: string[] = [];
    const notifier = new Notifier((path) => opened.push(path), FakeNotification as unknown as typeof Notification);
    const note = { title: "bob in #general", body: "hi", tag: "room-1", path: "/rooms/1" };
    notifier.show(note);
    expect(shown).toEqual([]);
    FakeNotification.permission = "granted";
    notifier.show(note);
    shown[0]?.notification.onclick?.();
    expect(opened).toEqual(["/rooms/1"]);
  });
});
