// My messages and typing notices out through the socket. A send is queued in the outbox first (so
// it shows at once and survives a reload), then written if the socket is up; whatever is still
// unconfirmed is written again, with the same client_msg_id, after every catch-up.

import {
  findPending,
  IN_ROOM,
  pendingFileIds,
  pendingSend,
  toResend,
  type PendingSend,
  type Placement,
} from "../state/outbox";
import type { FileOut } from "../types";
import { backoffMs } from "../ws/cursors";
import type { ChatSocket } from "../ws/socket";
import type { ChatContext } from "./context";

const TYPING_EVERY_MS = 3_000;

/** Refusals that mean "not now" rather than "not this": the send stays pending and goes again. */
export const TRY_AGAIN_CODES: ReadonlySet<string> = new Set(["unavailable", "deadline_exceeded"]);

export class Sending {
  private readonly typingSentAt = new Map<number, number>();
  /** Sends answered "try again": how many times so far, and the timer of the next try. */
  private readonly again = new Map<string, { attempt: number; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly chat: ChatContext,
    private readonly socket: ChatSocket,
  ) {}

  send(roomId: number, body: string, placement: Placement = IN_ROOM, files: readonly FileOut[] = []): void {
    const item = pendingSend(roomId, body, placement, undefined, undefined, files);
    this.chat.dispatch({ type: "outbox/queued", item });
    this.write(item);
    this.typingSentAt.delete(roomId);
  }

  /** The socket is live and caught up: (re)send everything unconfirmed, oldest first. */
  resendAll(): void {
    for (const item of toResend(this.chat.state().outbox)) this.write(item);
  }

  retry(clientMsgId: string): void {
    this.chat.dispatch({ type: "outbox/retried", clientMsgId });
    const item = findPending(this.chat.state().outbox, clientMsgId);
    if (item) this.write(item);
  }

  discard(clientMsgId: string): void {
    this.forgetRetry(clientMsgId);
    this.chat.dispatch({ type: "outbox/discarded", clientMsgId });
  }

  /** The server could not take this send now: keep it pending and send it again (after afterMs, or backing off). */
  retryLater(clientMsgId: string, afterMs?: number): void {
    const attempt = this.again.get(clientMsgId)?.attempt ?? 0;
    this.forgetRetry(clientMsgId);
    const timer = setTimeout(() => {
      const item = findPending(this.chat.state().outbox, clientMsgId);
      if (item?.state === "sending") this.write(item);
    }, afterMs ?? backoffMs(attempt)); // a rate limit says when; otherwise back off
    this.again.set(clientMsgId, { attempt: attempt + 1, timer });
  }

  /** A send was confirmed (or dropped): no more tries for it. */
  forgetRetry(clientMsgId: string): void {
    const pending = this.again.get(clientMsgId);
    if (pending) clearTimeout(pending.timer);
    this.again.delete(clientMsgId);
  }

  stop(): void {
    for (const { timer } of this.again.values()) clearTimeout(timer);
    this.again.clear();
  }

  /** I am typing in a room: tell the others, at most every few seconds. */
  typing(roomId: number): void {
    const now = Date.now();
    if (now - (this.typingSentAt.get(roomId) ?? 0) < TYPING_EVERY_MS) return;
    if (this.socket.send({ type: "typing", room_id: roomId })) this.typingSentAt.set(roomId, now);
  }

  private write(item: PendingSend): void {
    this.socket.send({
      type: "send",
      ref: item.clientMsgId,
      room_id: item.roomId,
      client_msg_id: item.clientMsgId,
      body: item.body,
      ...(item.files?.length ? { file_ids: pendingFileIds(item) } : {}),
      ...(item.threadRootSeq ? { thread_root_seq: item.threadRootSeq, also_in_room: item.alsoInRoom === true } : {}),
    });
  }
}
