// The signed-in session: tokens in localStorage, proactive refresh, one refresh at a time.
//
// Trade-off: localStorage survives reloads and is shared by tabs, but any script running on the
// page can read it, so an XSS bug would leak the tokens (an httpOnly cookie would not). We never
// render user text as HTML, keep access tokens short-lived, and rotate refresh tokens (a stolen,
// already-used one revokes the session). Refresh tokens are single use: a second refresh with the
// same token revokes the whole session, so refreshes are serialized - one in-flight promise per
// tab, and a Web Lock (where available) plus a re-read of storage across tabs.

import { ApiError, request } from "./http";
import type { Session, SignedIn, User } from "./types";

const STORAGE_KEY = "parley.session.v1";
const LOCK_NAME = "parley.refresh";
/** Refresh this long before the access token expires (or at half its lifetime, if sooner). */
export const REFRESH_MARGIN_MS = 60_000;

export type SessionListener = (session: SignedIn | null, reason: "changed" | "signed_out") => void;

function expiresAt(session: Session): number {
  return Date.parse(session.access_token_expires_at);
}

/** How long an access token lives (exp - iat of the JWT), 15 minutes when unreadable. */
export function tokenLifetimeMs(token: string): number {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { iat?: number; exp?: number };
    if (typeof claims.iat === "number" && typeof claims.exp === "number" && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000;
    }
  } catch {
    // fall through
  }
  return 15 * 60_000;
}

function parse(text: string | null): SignedIn | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as SignedIn;
    return value?.user && value?.session?.refresh_token ? value : null;
  } catch {
    return null;
  }
}

export class SessionManager {
  private current: SignedIn | null = null;
  private inflight: Promise<SignedIn> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<SessionListener>();

  constructor(
    private readonly storage: Storage | null = typeof window === "undefined" ? null : window.localStorage,
    private readonly now: () => number = Date.now,
  ) {
    this.current = parse(this.storage?.getItem(STORAGE_KEY) ?? null);
    if (typeof window !== "undefined") {
      window.addEventListener("storage", (event) => {
        if (event.key !== STORAGE_KEY) return;
        const next = parse(event.newValue);
        this.current = next;
        this.schedule();
        this.emit(next ? "changed" : "signed_out");
      });
    }
    this.schedule();
  }

  get user(): User | null {
    return this.current?.user ?? null;
  }

  get signedIn(): SignedIn | null {
    return this.current;
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keep a fresh session (after sign-in, sign-up or refresh). */
  set(signedIn: SignedIn): void {
    this.current = signedIn;
    this.storage?.setItem(STORAGE_KEY, JSON.stringify(signedIn));
    this.schedule();
    this.emit("changed");
  }

  /** Forget the session (signed out, or it stopped working). */
  clear(): void {
    this.current = null;
    this.storage?.removeItem(STORAGE_KEY);
    this.schedule();
    this.emit("signed_out");
  }

  /** Milliseconds until the access token expires (negative when it has). */
  msLeft(): number {
    return this.current ? expiresAt(this.current.session) - this.now() : -1;
  }

  /** A safety margin, at most half the token's lifetime (short-lived tokens get smaller margins). */
  private margin(ms: number): number {
    return this.current ? Math.min(ms, tokenLifetimeMs(this.current.session.access_token) / 2) : ms;
  }

  /** An access token valid for at least `marginMs`, refreshing first when needed. */
  async accessToken(marginMs = 10_000): Promise<string> {
    if (!this.current) throw new ApiError(401, "unauthenticated", "You are signed out.");
    if (this.msLeft() > this.margin(marginMs)) return this.current.session.access_token;
    return (await this.refresh()).session.access_token;
  }

  /** Rotate the tokens. Concurrent callers share one request: a refresh token works only once. */
  refresh(): Promise<SignedIn> {
    this.inflight ??= this.refreshOnce().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Resolves once no refresh is in flight. */
  async settled(): Promise<void> {
    await this.inflight?.catch(() => undefined);
  }

  private async refreshOnce(): Promise<SignedIn> {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (locks) return locks.request(LOCK_NAME, () => this.refreshLocked());
    return this.refreshLocked();
  }

  private async refreshLocked(): Promise<SignedIn> {
    const mine = this.current;
    if (!mine) throw new ApiError(401, "unauthenticated", "You are signed out.");
    // Another tab may have rotated the tokens while we waited for the lock: use its result.
    const stored = parse(this.storage?.getItem(STORAGE_KEY) ?? null);
    if (stored && stored.session.refresh_token !== mine.session.refresh_token) {
      if (expiresAt(stored.session) - this.now() > this.margin(REFRESH_MARGIN_MS) / 2) {
        this.current = stored;
        this.schedule();
        this.emit("changed");
        return stored;
      }
    }
    const token = (stored ?? mine).session.refresh_token;
    try {
      const fresh = await request<SignedIn>("POST", "/auth/refresh", { refresh_token: token });
      this.set(fresh);
      return fresh;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 400)) this.clear();
      throw error;
    }
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (!this.current || typeof window === "undefined") return;
    const delay = Math.max(1_000, this.msLeft() - this.margin(REFRESH_MARGIN_MS));
    // setTimeout's delay is a 32-bit int; a long session refreshes in steps.
    this.timer = setTimeout(() => this.onTimer(), Math.min(delay, 2 ** 31 - 1));
  }

  private onTimer(): void {
    if (!this.current) return;
    if (this.msLeft() > this.margin(REFRESH_MARGIN_MS) + 500) return this.schedule();
    this.refresh().catch(() => {
      // Offline or the gateway is down: try again shortly; a dead session was cleared already.
      if (this.current) this.timer = setTimeout(() => this.onTimer(), 10_000);
    });
  }

  private emit(reason: "changed" | "signed_out"): void {
    for (const listener of this.listeners) listener(this.current, reason);
  }
}
