import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FileUrls } from "@/lib/files/fileUrls";

let loads: string[];
let revoked: string[];
let made: number;
let fail: boolean;

function urls(keepMs = 1_000): FileUrls {
  return new FileUrls(
    async (id, thumbnail) => {
      loads.push(`${id}${thumbnail ? ":thumb" : ""}`);
      if (fail) throw new Error("offline");
      return new Blob([id]);
    },
    { create: () => `blob:${++made}`, revoke: (url) => revoked.push(url) },
    keepMs,
  );
}

beforeEach(() => {
  loads = [];
  revoked = [];
  made = 0;
  fail = false;
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});

afterEach(() => vi.useRealTimers());

describe("FileUrls", () => {
  it("fetches a file once for every holder, the thumbnail apart", async () => {
    const cache = urls();
    const [a, b, thumb] = [cache.hold("f1"), cache.hold("f1"), cache.hold("f1", true)];
    expect(await a.url).toBe(await b.url);
    expect(await thumb.url).not.toBe(await a.url);
    expect(loads).toEqual(["f1", "f1:thumb"]);
  });

  it("revokes the URL a while after the last holder lets go", async () => {
    const cache = urls(1_000);
    const [a, b] = [cache.hold("f1"), cache.hold("f1")];
    const url = await a.url;
    a.release();
    a.release(); // twice counts once
    vi.advanceTimersByTime(5_000);
    expect(revoked).toEqual([]);
    b.release();
    vi.advanceTimersByTime(999);
    expect(revoked).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(revoked).toEqual([url]);
    expect(cache.size).toBe(0);
  });

  it("reuses the URL when someone holds it again before it is revoked", async () => {
    const cache = urls(1_000);
    const first = cache.hold("f1");
    const url = await first.url;
    first.release();
    vi.advanceTimersByTime(500);
    const again = cache.hold("f1");
    vi.advanceTimersByTime(5_000);
    expect(await again.url).toBe(url);
    expect(revoked).toEqual([]);
    expect(loads).toEqual(["f1"]);
  });

  it("forgets a failed fetch, so the next holder tries again", async () => {
    const cache = urls();
    fail = true;
    await expect(cache.hold("f1").url).rejects.toThrow("offline");
    fail = false;
    expect(await cache.hold("f1").url).toBe("blob:1");
    expect(loads).toEqual(["f1", "f1"]);
  });

  it("revokes a URL that finished loading after everything was cleared", async () => {
    const cache = urls();
    const held = cache.hold("f1");
    cache.clear();
    const url = await held.url;
    expect(revoked).toEqual([url]);
  });

  it("revokes every URL on clear (signing out)", async () => {
    const cache = urls();
    const got = await Promise.all([cache.hold("a").url, cache.hold("b").url]);
    cache.clear();
    expect(revoked.sort()).toEqual(got.sort());
    expect(cache.size).toBe(0);
  });
});
