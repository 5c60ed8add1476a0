// The files attached in a composer, one chip each, from the pick (or drop, or paste) to the send:
// uploading (with progress), done (the server's FileOut), or failed (why, and whether Retry can help).
// Pure: the transfers themselves are in transfer.ts, driven by components/useUploads.ts.

import { fileSize } from "../format";
import type { FileOut } from "../types";

/** chat_svc's default limit (CHAT_FILE_MAX_BYTES); the server is the authority, this is a quick early "no". */
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
/** How many files one message may carry (the contract: file_ids 0-10). */
export const MAX_FILES = 10;

export type UploadStatus = "uploading" | "done" | "failed";

export interface Upload {
  /** This chip's local id (the same file picked twice is two chips). */
  key: string;
  name: string;
  size: number;
  status: UploadStatus;
  /** Bytes sent so far. */
  loaded: number;
  /** What the server stored (when done). */
  file?: FileOut;
  /** Why it failed, in words for the person. */
  error?: string;
  /** Whether sending the same bytes again may work (not for a file over the limit). */
  retryable?: boolean;
  /** A picked image's local object URL, for its chip (made and revoked by whoever holds the File). */
  preview?: string;
}

export type Uploads = readonly Upload[];

export type UploadAction =
  | { type: "added"; uploads: Upload[] }
  | { type: "progress"; key: string; loaded: number }
  | { type: "done"; key: string; file: FileOut }
  | { type: "failed"; key: string; error: string; retryable: boolean }
  | { type: "retried"; key: string }
  | { type: "removed"; key: string }
  | { type: "cleared" };

/** A picked file, as far as the rules need it (a File is one). */
export interface Picked {
  name: string;
  size: number;
}

let counter = 0;

/** Chips for newly picked files beside `already` chips: too large ones fail at once; beyond MAX_FILES none. */
export function pick(
  already: number,
  files: readonly Picked[],
  maxBytes = MAX_FILE_BYTES,
): { uploads: Upload[]; refused: string | null } {
  const room = MAX_FILES - already;
  const taken = files.slice(0, Math.max(0, room));
  const refused =
    files.length > taken.length ? `A message can carry at most ${MAX_FILES} files; ${files.length - taken.length} left out.` : null;
  const uploads = taken.map((file): Upload => {
    const key = `u${++counter}`;
    const name = file.name || "pasted file";
    if (file.size > maxBytes) {
      return { key, name, size: file.size, status: "failed", loaded: 0, retryable: false, error: tooLarge(maxBytes) };
    }
    return { key, name, size: file.size, status: "uploading", loaded: 0 };
  });
  return { uploads, refused };
}

export function tooLarge(maxBytes = MAX_FILE_BYTES): string {
  return `Too large: files can be at most ${fileSize(maxBytes)}.`;
}

function change(state: Uploads, key: string, update: (upload: Upload) => Upload): Uploads {
  const index = state.findIndex((upload) => upload.key === key);
  if (index < 0) return state;
  return state.map((upload, i) => (i === index ? update(upload) : upload));
}

export function uploadsReducer(state: Uploads, action: UploadAction): Uploads {
  switch (action.type) {
    case "added":
      return [...state, ...action.uploads];
    case "progress":
      return change(state, action.key, (u) => (u.status === "uploading" ? { ...u, loaded: Math.min(u.size, action.loaded) } : u));
    case "done":
      return change(state, action.key, (u) => ({ ...u, status: "done", loaded: u.size, file: action.file, error: undefined }));
    case "failed":
      return change(state, action.key, (u) => ({ ...u, status: "failed", error: action.error, retryable: action.retryable }));
    case "retried":
      return change(state, action.key, (u) =>
        u.status === "failed" && u.retryable !== false ? { ...u, status: "uploading", loaded: 0, error: undefined } : u,
      );
    case "removed":
      return state.filter((upload) => upload.key !== action.key);
    case "cleared":
      return [];
    default:
      return state;
  }
}

/** What keeps a message from being sent with these files, in words; null when nothing does. */
export function blockedBy(state: Uploads): string | null {
  if (state.some((u) => u.status === "failed")) return "Retry or remove the files that did not upload.";
  const going = state.filter((u) => u.status === "uploading").length;
  if (going > 0) return going === 1 ? "Waiting for a file to upload…" : `Waiting for ${going} files to upload…`;
  return null;
}

/** The stored files, in the order they were picked (when every upload is done). */
export function uploadedFiles(state: Uploads): FileOut[] {
  return state.flatMap((u) => (u.status === "done" && u.file ? [u.file] : []));
}

/** How far an upload is, 0 to 1. */
export function progress(upload: Upload): number {
  if (upload.status === "done") return 1;
  return upload.size > 0 ? upload.loaded / upload.size : 0;
}
