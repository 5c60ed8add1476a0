// What members see of operators' actions: a taken-down message, an archived (read-only) room.
import { describe, expect, it } from "vitest";
import { ARCHIVED_COMPOSER, archivedBanner, isArchived, tombstoneText } from "../src/lib/readOnly";

describe("tombstoneText", () => {
  it("says a taken-down message was removed by a moderator, whoever deleted it", () => {
    expect(tombstoneText({ taken_down: true }, null)).toBe("Removed by a moderator.");
    expect(tombstoneText({ taken_down: true }, "bob")).toBe("Removed by a moderator.");
  });

  it("keeps the room moderator's and the author's own deletes apart from a take-down", () => {
    expect(tombstoneText({ taken_down: false }, "bob")).toBe("This message was deleted by bob, a moderator.");
    expect(tombstoneText({}, null)).toBe("This message was deleted.");
  });
});

describe("archived rooms", () => {
  it("are archived when archived_at is set, and not when it is null or missing", () => {
    expect([isArchived({ archived_at: "2026-12-08T01:00:00Z" }), isArchived({ archived_at: null }), isArchived({})]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it("say in the banner that the room is read-only, with the day it was archived", () => {
    const text = archivedBanner({ archived_at: "2026-12-08T12:00:00Z" });
    expect(text).toContain("read-only");
    expect(text).toContain(new Date("2026-12-08T12:00:00Z").toLocaleDateString(undefined, { dateStyle: "long" }));
  });

  it("explain why the composer is off", () => {
    expect(ARCHIVED_COMPOSER).toMatch(/archived/);
  });
});
