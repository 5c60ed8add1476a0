// Sends that are not acknowledged yet. Each keeps its client_msg_id for its whole life, so a resend
// after a reconnect returns the stored original instead of a duplicate.

export type PendingState = "sending" | "failed";

export interface PendingSend {
  clientMsgId: string;
  roomId: number;
  body: string;
  createdAt: string;
  state: PendingState;
  error?: string;
}

/** A client_msg_id: random, at most 64 characters (works outside secure contexts too). */
export function newClientMsgId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return "w-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  private readonly items = new Map<string, PendingSend>();

  add(roomId: number, body: string, clientMsgId: string = newClientMsgId(), now = new Date()): PendingSend {
    const item: PendingSend = { clientMsgId, roomId, body, createdAt: now.toISOString(), state: "sending" };
    this.items.set(clientMsgId, item);
    return item;
  }

  get(clientMsgId: string): PendingSend | undefined {
    return this.items.get(clientMsgId);
  }

  /** The server stored it (ack, or our own message frame): it is no longer pending. */
  confirm(clientMsgId: string): boolean {
    return this.items.delete(clientMsgId);
  }

  fail(clientMsgId: string, error: string): void {
    const item = this.items.get(clientMsgId);
    if (item) this.items.set(clientMsgId, { ...item, state: "failed", error });
  }

  retry(clientMsgId: string): PendingSend | undefined {
    const item = this.items.get(clientMsgId);
    if (!item) return undefined;
    const again: PendingSend = { ...item, state: "sending", error: undefined };
    this.items.set(clientMsgId, again);
    return again;
  }

  discard(clientMsgId: string): void {
    this.items.delete(clientMsgId);
  }

  /** What to (re)send once the socket is live again, oldest first. */
  toResend(): PendingSend[] {
    return [...this.items.values()].filter((item) => item.state === "sending");
  }

  all(): PendingSend[] {
    return [...this.items.values()];
  }

  forRoom(roomId: number): PendingSend[] {
    return [...this.items.values()].filter((item) => item.roomId === roomId);
  }
}
