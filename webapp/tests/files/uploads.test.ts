import { describe, expect, it } from "vitest";
import {
  blockedBy,
  MAX_FILE_BYTES,
  MAX_FILES,
  pick,
  progress,
  tooLarge,
  uploadedFiles,
  uploadsReducer,
  type UploadAction,
  type Uploads,
} from "@/lib/files/uploads";
import { fileOut } from "../fixtures";

const run = (state: Uploads, ...actions: UploadAction[]) => actions.reduce(uploadsReducer, state);

function picked(...sizes: number[]): Uploads {
  return pick(0, sizes.map((size, i) => ({ name: `f${i}.bin`, size }))).uploads;
}

describe("pick", () => {
  it("starts a chip per file, uploading, at no progress", () => {
    const { uploads, refused } = pick(0, [{ name: "a.png", size: 10 }, { name: "b.pdf", size: 20 }]);
    expect(uploads.map((u) => [u.name, u.size, u.status, u.loaded])).toEqual([
      ["a.png", 10, "uploading", 0],
      ["b.pdf", 20, "uploading", 0],
    ]);
    expect(new Set(uploads.map((u) => u.key)).size).toBe(2);
    expect(refused).toBeNull();
  });

  it("fails a file over the limit at once, saying the limit, with no retry", () => {
    const [big] = pick(0, [{ name: "big.iso", size: MAX_FILE_BYTES + 1 }]).uploads;
    expect(big).toMatchObject({ status: "failed", retryable: false, error: tooLarge() });
    expect(tooLarge()).toBe("Too large: files can be at most 25 MB.");
    expect(pick(0, [{ name: "edge", size: MAX_FILE_BYTES }]).uploads[0]?.status).toBe("uploading");
  });

  it("takes at most MAX_FILES per message and says how many were left out", () => {
    const files = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, size: 1 }));
    const { uploads, refused } = pick(MAX_FILES - 1, files);
    expect(uploads).toHaveLength(1);
    expect(refused).toBe("A message can carry at most 10 files; 3 left out.");
  });

  it("names a pasted file that has no name", () => {
    expect(pick(0, [{ name: "", size: 1 }]).uploads[0]?.name).toBe("pasted file");
  });
});

describe("uploadsReducer", () => {
  it("follows progress, then keeps the stored file when done", () => {
    const [a] = picked(100);
    let state = run([a!], { type: "progress", key: a!.key, loaded: 40 });
    expect(progress(state[0]!)).toBe(0.4);
    state = run(state, { type: "done", key: a!.key, file: fileOut("x") });
    expect(state[0]).toMatchObject({ status: "done", loaded: 100, file: { id: "x" } });
    expect(progress(state[0]!)).toBe(1);
  });

  it("ignores progress reported after an upload ended", () => {
    const [a] = picked(100);
    const state = run([a!], { type: "failed", key: a!.key, error: "no", retryable: true }, { type: "progress", key: a!.key, loaded: 50 });
    expect(state[0]).toMatchObject({ status: "failed", loaded: 0 });
  });

  it("retries a failed upload from the start, but not one refused for good", () => {
    const [a, b] = picked(100, 100);
    let state = run(
      [a!, b!],
      { type: "progress", key: a!.key, loaded: 70 },
      { type: "failed", key: a!.key, error: "Cannot reach the server.", retryable: true },
      { type: "failed", key: b!.key, error: "This type of file is not allowed here.", retryable: false },
    );
    state = run(state, { type: "retried", key: a!.key }, { type: "retried", key: b!.key });
    expect(state.map((u) => [u.status, u.loaded, u.error])).toEqual([
      ["uploading", 0, undefined],
      ["failed", 0, "This type of file is not allowed here."],
    ]);
  });

  it("removes one chip, and clears them all", () => {
    const [a, b] = picked(1, 2);
    expect(run([a!, b!], { type: "removed", key: a!.key }).map((u) => u.key)).toEqual([b!.key]);
    expect(run([a!, b!], { type: "cleared" })).toEqual([]);
  });

  it("leaves the state alone for an unknown chip", () => {
    const state = picked(1);
    expect(run(state, { type: "done", key: "nope", file: fileOut("x") })).toBe(state);
  });
});

describe("sending waits for the uploads", () => {
  it("is blocked while any upload runs or failed, and free when all are done", () => {
    const [a, b] = picked(1, 2);
    let state: Uploads = [a!, b!];
    expect(blockedBy(state)).toBe("Waiting for 2 files to upload…");
    state = run(state, { type: "done", key: a!.key, file: fileOut("a") });
    expect(blockedBy(state)).toBe("Waiting for a file to upload…");
    state = run(state, { type: "failed", key: b!.key, error: "x", retryable: true });
    expect(blockedBy(state)).toBe("Retry or remove the files that did not upload.");
    state = run(state, { type: "removed", key: b!.key });
    expect(blockedBy(state)).toBeNull();
    expect(blockedBy([])).toBeNull();
  });

  it("sends the stored files in the order they were picked", () => {
    const [a, b] = picked(1, 2);
    const state = run([a!, b!], { type: "done", key: b!.key, file: fileOut("b") }, { type: "done", key: a!.key, file: fileOut("a") });
    expect(uploadedFiles(state).map((f) => f.id)).toEqual(["a", "b"]);
  });
});
