// The outbox in localStorage, so that a message written offline survives a reload and is sent
// when the socket is back. One key per user (another user signing in on this browser never sends
// someone else's messages). Tabs of the same user share it: each applies its own changes item by
// item (read, change, write) rather than writing its whole list, so two tabs do not overwrite
// each other's sends, and each hears the others' changes through the `storage` event. Both tabs may
// then resend the same item: harmless, the server dedupes by client_msg_id and the timeline by seq.

import type { OutboxState, PendingSend } from "../state/outbox";
import { allPending } from "../state/outbox";

const PREFIX = "parley.outbox.v1.";

function isPendingSend(value: unknown): value is PendingSend {
  const item = value as PendingSend | null;
  return (
    typeof item === "object" &&
    item !== null &&
    typeof item.clientMsgId === "string" &&
    typeof item.roomId === "number" &&
    typeof item.body === "string" &&
    typeof item.createdAt === "string" &&
    (item.state === "sending" || item.state === "failed") &&
    (item.threadRootSeq === undefined || typeof item.threadRootSeq === "number") &&
    (item.alsoInRoom === undefined || typeof item.alsoInRoom === "boolean") &&
    (item.files === undefined || (Array.isArray(item.files) && item.files.every(isFile)))
  );
}

function isFile(value: unknown): boolean {
  const file = value as { id?: unknown; name?: unknown; size?: unknown } | null;
  return typeof file === "object" && file !== null && typeof file.id === "string" && typeof file.name === "string";
}

export class OutboxStorage {
  private readonly key: string;

  /** `storage` is null where there is none (server rendering, storage disabled): nothing persists. */
  constructor(
    private readonly storage: Storage | null,
    userId: number,
  ) {
    this.key = `${PREFIX}${userId}`;
  }

  load(): PendingSend[] {
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(this.key) ?? "[]");
      return Array.isArray(parsed) ? parsed.filter(isPendingSend) : [];
    } catch {
      return []; // unreadable: start empty rather than not at all
    }
  }

  /** Write what changed between two states of this tab's outbox into the shared list. */
  persist(before: OutboxState, after: OutboxState): void {
    if (!this.storage || before === after) return;
    const old = new Map(allPending(before).map((item) => [item.clientMsgId, item]));
    const now = new Map(allPending(after).map((item) => [item.clientMsgId, item]));
    const stored = new Map(this.load().map((item) => [item.clientMsgId, item]));
    let changed = false;
    for (const [id, item] of now) {
      if (old.get(id) !== item) {
        stored.set(id, item);
        changed = true;
      }
    }
    for (const id of old.keys()) {
      if (!now.has(id)) changed = stored.delete(id) || changed;
    }
    if (!changed) return;
    try {
      if (stored.size === 0) this.storage.removeItem(this.key);
      else this.storage.setItem(this.key, JSON.stringify([...stored.values()]));
    } catch {
      // full or disabled storage: the send still goes out, it just would not survive a reload
    }
  }

  clear(): void {
    this.storage?.removeItem(this.key);
  }

  /** Changes made by other tabs. */
  watch(listener: (items: PendingSend[]) => void): () => void {
    if (typeof window === "undefined") return () => undefined;
    const onStorage = (event: StorageEvent) => {
      if (event.key === this.key || event.key === null) listener(this.load());
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }
}
