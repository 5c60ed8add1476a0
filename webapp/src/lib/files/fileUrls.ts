// Object URLs for the files shown on screen. An <img src> cannot carry the Authorization header, so
// each file is fetched once into a Blob and shown through a blob: URL. Holders count: the URL is
// revoked a while after its last holder lets go (a message scrolled away and back reuses it);
// a failed fetch is forgotten, so the next holder tries again.

export type Loader = (fileId: string, thumbnail: boolean) => Promise<Blob>;

export interface ObjectUrls {
  create(blob: Blob): string;
  revoke(url: string): void;
}

interface Entry {
  holders: number;
  url: Promise<string>;
  /** Set once loaded, to revoke. */
  created?: string;
  timer?: ReturnType<typeof setTimeout>;
}

export interface Held {
  url: Promise<string>;
  /** Let go of it (once; later calls do nothing). */
  release(): void;
}

const browserUrls: ObjectUrls = {
  create: (blob) => URL.createObjectURL(blob),
  revoke: (url) => URL.revokeObjectURL(url),
};

export class FileUrls {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly load: Loader,
    private readonly urls: ObjectUrls = browserUrls,
    /** How long an unheld URL is kept for the next holder. */
    private readonly keepMs = 60_000,
  ) {}

  /** The object URL of a file (or of its thumbnail), fetched unless it is held already. */
  hold(fileId: string, thumbnail = false): Held {
    const key = `${fileId}${thumbnail ? ":thumb" : ""}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const fresh: Entry = { holders: 0, url: Promise.resolve("") };
      fresh.url = this.load(fileId, thumbnail).then(
        (blob) => {
          const url = this.urls.create(blob);
          // Everyone let go and the entry was dropped while it loaded: do not leak the URL.
          if (this.entries.get(key) !== fresh) this.urls.revoke(url);
          else fresh.created = url;
          return url;
        },
        (error: unknown) => {
          if (this.entries.get(key) === fresh) this.entries.delete(key);
          throw error;
        },
      );
      entry = fresh;
      this.entries.set(key, entry);
    }
    const held = entry;
    if (held.timer !== undefined) clearTimeout(held.timer);
    held.timer = undefined;
    held.holders += 1;
    let released = false;
    return {
      url: held.url,
      release: () => {
        if (released) return;
        released = true;
        held.holders -= 1;
        if (held.holders > 0 || this.entries.get(key) !== held) return;
        held.timer = setTimeout(() => this.drop(key, held), this.keepMs);
      },
    };
  }

  /** Revoke every URL (signing out). */
  clear(): void {
    for (const [key, entry] of [...this.entries]) this.drop(key, entry);
  }

  /** How many files are held or kept (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private drop(key: string, entry: Entry): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (this.entries.get(key) === entry) this.entries.delete(key);
    if (entry.created) this.urls.revoke(entry.created);
  }
}

/** Save a file under its name: a link to its object URL, clicked. */
export async function saveAs(urls: FileUrls, fileId: string, name: string): Promise<void> {
  const held = urls.hold(fileId);
  try {
    const link = document.createElement("a");
    link.href = await held.url;
    link.download = name;
    link.rel = "noopener";
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    held.release();
  }
}
