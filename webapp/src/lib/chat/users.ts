// Batched look-ups of user names: ids asked for within a few milliseconds go out as one
// GET /users?ids=..., at most 100 at a time. Ids whose look-up failed are retried on request
// (after the next catch-up), so names fall back to "user N" only while the gateway is unreachable.

import type { User } from "../types";

interface Options {
  fetch: (ids: number[]) => Promise<User[]>;
  known: (id: number) => boolean;
  loaded: (users: User[]) => void;
  delayMs?: number;
}

const BATCH = 100;

export class UserLoader {
  private readonly wanted = new Set<number>();
  private readonly missed = new Set<number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: Options) {}

  /** Make sure these users' names are known. */
  ensure(ids: Iterable<number>): void {
    let added = false;
    for (const id of ids) {
      if (id > 0 && !this.options.known(id) && !this.wanted.has(id)) {
        this.wanted.add(id);
        added = true;
      }
    }
    if (added && this.timer === null) this.schedule();
  }

  /** Ask again for the names whose look-up failed. */
  retryMissed(): void {
    const ids = [...this.missed];
    this.missed.clear();
    this.ensure(ids);
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.wanted.clear();
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.flush(), this.options.delayMs ?? 30);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const ids = [...this.wanted].slice(0, BATCH);
    try {
      this.options.loaded(await this.options.fetch(ids));
    } catch {
      for (const id of ids) this.missed.add(id);
    }
    for (const id of ids) this.wanted.delete(id);
    if (this.wanted.size > 0 && this.timer === null) this.schedule();
  }
}
