import { describe, expect, it } from "vitest";
import { connectionReducer, initialConnection } from "@/lib/state/connection";
import { initialUsers, userName, usersReducer } from "@/lib/state/users";
import { user } from "../fixtures";

describe("usersReducer", () => {
  it("knows me from the start and adds the names it loads", () => {
    const state = usersReducer(initialUsers(user(1, "me")), { type: "users/loaded", users: [user(2, "bob")] });
    expect(userName(state, 1)).toBe("me");
    expect(userName(state, 2)).toBe("bob");
    expect(userName(state, 3)).toBe("user 3");
  });

  it("keeps the state for an empty answer", () => {
    const state = initialUsers(null);
    expect(usersReducer(state, { type: "users/loaded", users: [] })).toBe(state);
  });
});

describe("connectionReducer", () => {
  it("follows the socket's status and remembers it was live once", () => {
    let state = connectionReducer(initialConnection, { type: "connection/status", status: "live", detail: "" });
    state = connectionReducer(state, { type: "connection/status", status: "offline", detail: "Connection lost." });
    expect(state).toMatchObject({ status: "offline", detail: "Connection lost.", everLive: true });
  });

  it("keeps why the session ended", () => {
    const state = connectionReducer(initialConnection, { type: "session/signedOut", reason: "expired" });
    expect(state.signedOutReason).toBe("expired");
  });
});
