// The one WebSocket to the gateway: sign in with the first frame (and resume cursors), keep it
// alive with pings, swap refreshed tokens in with `reauth`, and reconnect with backoff when it drops.

import type { SessionManager } from "../session";
import type { ClientFrame, Cursor, ServerFrame } from "../types";
import { newTraceparent } from "../traceparent";
import { backoffMs, closeAction } from "./cursors";

export type ConnectionStatus = "connecting" | "syncing" | "live" | "offline" | "stopped";

export interface SocketEvents {
  /** Every server frame, in order. */
  frame(frame: ServerFrame): void;
  status(status: ConnectionStatus, detail: string): void;
  /** Where to resume, asked for at each (re)connect. */
  cursors(): Cursor[];
  /** The session is gone (4001, 4004, 4005 or a failed refresh): sign in again. */
  signedOut(reason: string): void;
}

interface Options {
  url: () => string;
  session: SessionManager;
  events: SocketEvents;
  createSocket?: (url: string) => WebSocket;
}

export class ChatSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private heartbeatMs = 20_000;
  private refCounter = 0;
  private stopped = true;
  private statusNow: ConnectionStatus = "stopped";
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: Options) {}

  get status(): ConnectionStatus {
    return this.statusNow;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.options.session.subscribe((session, reason) => {
      if (reason === "changed" && session) this.reauth(session.session.access_token);
    });
    if (typeof window !== "undefined") {
      window.addEventListener("offline", this.onOffline);
      window.addEventListener("online", this.onOnline);
    }
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (typeof window !== "undefined") {
      window.removeEventListener("offline", this.onOffline);
      window.removeEventListener("online", this.onOnline);
    }
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, "bye");
    this.setStatus("stopped", "");
  }

  /** Send a frame now; false when the socket is not signed in (the caller keeps it for later). */
  send(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.statusNow !== "live" && this.statusNow !== "syncing") return false;
    // Each command names a trace of its own (the gateway's span for the frame joins it).
    this.ws.send(JSON.stringify({ ...frame, traceparent: newTraceparent() }));
    return true;
  }

  nextRef(prefix: string): string {
    this.refCounter += 1;
    return `${prefix}${this.refCounter}`;
  }

  private setStatus(status: ConnectionStatus, detail: string): void {
    this.statusNow = status;
    this.options.events.status(status, detail);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.clearTimers();
    this.detach();
    this.setStatus(this.attempt === 0 ? "connecting" : "offline", "Connecting…");
    let token: string;
    try {
      token = await this.options.session.accessToken(30_000);
    } catch {
      if (!this.options.session.signedIn) {
        this.options.events.signedOut("Your session ended. Please sign in again.");
        return;
      }
      return this.retry("Cannot reach the server.");
    }
    if (this.stopped) return;
    let ws: WebSocket;
    try {
      ws = (this.options.createSocket ?? ((url) => new WebSocket(url)))(this.options.url());
    } catch {
      return this.retry("Cannot open a connection.");
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      ws.send(JSON.stringify({ type: "auth", token, cursors: this.options.events.cursors() } satisfies ClientFrame));
    };
    ws.onmessage = (event: MessageEvent) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(event.data)) as ServerFrame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onClose(event.code, event.reason);
    };
  }

  private onFrame(frame: ServerFrame): void {
    if (frame.type === "ready") {
      this.attempt = 0;
      this.heartbeatMs = Math.max(2_000, frame.heartbeat_seconds * 1000);
      this.startPings();
      this.setStatus("syncing", "Catching up…");
    }
    this.options.events.frame(frame);
    if (frame.type === "caught_up" && this.statusNow !== "live") this.setStatus("live", "");
  }

  private onClose(code: number, reason: string): void {
    this.clearTimers();
    if (this.stopped) return;
    const action = closeAction(code);
    if (action === "signin") {
      this.stopped = true;
      this.setStatus("stopped", reason);
      this.options.events.signedOut(signedOutMessage(code));
      return;
    }
    if (action === "refresh") {
      this.setStatus("offline", "Refreshing your session…");
      this.options.session.refresh().then(
        () => this.connect(),
        () => {
          if (!this.options.session.signedIn) this.options.events.signedOut("Your session expired. Please sign in again.");
          else this.retry("Cannot refresh your session.");
        },
      );
      return;
    }
    // The banner says "Connection lost." already; add only what is news.
    this.retry(code === 1013 ? "The server is busy." : code === 4029 ? "Too many connections from here." : "");
  }

  private retry(detail: string): void {
    if (this.stopped) return;
    const delay = backoffMs(this.attempt);
    this.attempt += 1;
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      // Wait for the browser's "online" event (with a slow retry in case it never comes).
      this.setStatus("offline", "You are offline. Waiting for the network…");
      this.retryTimer = setTimeout(() => void this.connect(), Math.max(delay, 30_000));
      return;
    }
    const seconds = Math.max(1, Math.round(delay / 1000));
    this.setStatus("offline", `${detail} Reconnecting in ${seconds}s…`.trim());
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private startPings(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    const every = Math.max(1_000, this.heartbeatMs / 2);
    this.pingTimer = setInterval(() => {
      if (!this.ws) return;
      if (Date.now() - this.lastHeard > this.heartbeatMs * 2) {
        // Nothing heard for two heartbeats: the connection is dead even if the browser has not noticed.
        this.dropAndRetry("The connection stopped answering.");
        return;
      }
      this.send({ type: "ping", ref: this.nextRef("p") });
    }, every);
  }

  private reauth(token: string): void {
    if (this.statusNow === "live" || this.statusNow === "syncing") {
      this.send({ type: "reauth", ref: this.nextRef("a"), token });
    }
  }

  private dropAndRetry(detail: string): void {
    this.clearTimers();
    this.detach();
    this.retry(detail);
  }

  /** Close the current socket without reacting to its close event. */
  private detach(): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = null;
    ws.onclose = null;
    ws.onmessage = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      ws.close(4000, "client reconnecting");
    }
    this.setStatus("offline", "Reconnecting…");
  }

  private readonly onOffline = (): void => {
    if (this.stopped) return;
    this.dropAndRetry("You are offline.");
  };

  private readonly onOnline = (): void => {
    if (this.stopped || this.statusNow === "live" || this.statusNow === "syncing") return;
    this.attempt = 0;
    void this.connect();
  };

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }
}

export const ACCOUNT_DISABLED = "Your account has been disabled by an operator.";

/** What the sign-in page says after the socket closed for good with this code. */
export function signedOutMessage(code: number): string {
  if (code === 4004) return "You were signed out.";
  if (code === 4005) return ACCOUNT_DISABLED;
  return "Your session is no longer valid. Please sign in again.";
}
