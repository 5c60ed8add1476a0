import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionManager, tokenLifetimeMs } from "@/lib/session";
import type { SignedIn } from "@/lib/types";
import { MemoryStorage } from "./fixtures";

function jwt(iat: number, exp: number): string {
  const part = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, "");
  return `${part({ alg: "EdDSA" })}.${part({ iat, exp })}.sig`;
}

function signedIn(refresh: string, expiresInS = 900): SignedIn {
  const now = Math.floor(Date.now() / 1000);
  return {
    user: { id: 1, username: "alice", display_name: "alice", created_at: "2026-01-01T00:00:00Z" },
    session: {
      access_token: jwt(now, now + expiresInS),
      access_token_expires_at: new Date((now + expiresInS) * 1000).toISOString(),
      refresh_token: refresh,
      refresh_token_expires_at: "2099-01-01T00:00:00Z",
      session_id: "s1",
    },
  };
}

afterEach(() => vi.unstubAllGlobals());

describe("SessionManager", () => {
  it("shares one refresh between concurrent callers (a refresh token works once)", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(signedIn("r2")), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const session = new SessionManager(new MemoryStorage());
    session.set(signedIn("r1"));
    const [a, b] = await Promise.all([session.refresh(), session.refresh()]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(a).toBe(b);
    expect(session.signedIn?.session.refresh_token).toBe("r2");
  });

  it("adopts tokens another tab already rotated instead of spending the old refresh token", async () => {
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    const storage = new MemoryStorage();
    const session = new SessionManager(storage);
    session.set(signedIn("r1", 5));
    storage.setItem("parley.session.v1", JSON.stringify(signedIn("r2")));
    await session.refresh();
    expect(fetchMock).not.toHaveBeenCalled();
    expect(session.signedIn?.session.refresh_token).toBe("r2");
  });

  it("forgets the session when the gateway refuses the refresh token", async () => {
    const body = { error: { code: "unauthenticated", message: "session ended; sign in again" } };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body), { status: 401 })));
    const session = new SessionManager(new MemoryStorage());
    session.set(signedIn("r1"));
    await expect(session.refresh()).rejects.toThrow("session ended; sign in again");
    expect(session.signedIn).toBeNull();
  });

  it("reads the token lifetime from the JWT", () => {
    expect(tokenLifetimeMs(jwt(100, 130))).toBe(30_000);
    expect(tokenLifetimeMs("not a jwt")).toBe(15 * 60_000);
  });
});
