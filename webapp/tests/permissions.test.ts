import { describe, expect, it } from "vitest";
import { canDelete, canManageRoom, canRemove, canSetRoles } from "../src/lib/permissions";

describe("permissions", () => {
  it("lets owners and moderators manage a room, not members", () => {
    expect([canManageRoom("owner", "private"), canManageRoom("moderator", "public"), canManageRoom("member", "public")]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it("offers no settings in a direct room", () => {
    expect(canManageRoom("owner", "direct")).toBe(false);
    expect(canSetRoles("owner", "direct")).toBe(false);
  });

  it("lets only the owner change roles", () => {
    expect([canSetRoles("owner", "public"), canSetRoles("moderator", "public")]).toEqual([true, false]);
  });

  it("lets moderators remove plain members only, and nobody remove themselves", () => {
    expect(canRemove("moderator", "public", "member", false)).toBe(true);
    expect(canRemove("moderator", "public", "moderator", false)).toBe(false);
    expect(canRemove("owner", "public", "moderator", false)).toBe(true);
    expect(canRemove("owner", "public", "owner", true)).toBe(false);
    expect(canRemove("member", "public", "member", false)).toBe(false);
  });

  it("lets members delete their own messages and moderators anyone's", () => {
    expect([canDelete("member", "public", true), canDelete("member", "public", false), canDelete("moderator", "public", false)]).toEqual([
      true,
      false,
      true,
    ]);
  });
});
