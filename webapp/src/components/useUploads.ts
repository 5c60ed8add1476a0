"use client";

// The uploads of one composer: each picked file goes up at once; the chips' state is the pure
// reducer of lib/files/uploads.ts, this hook owns the File objects and the transfers (to cancel them).

import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { ApiError } from "@/lib/api";
import { fileMaxBytes } from "@/lib/config";
import { sentence } from "@/lib/format";
import { isPreviewable } from "@/lib/files/kinds";
import { MAX_FILE_BYTES, pick, uploadsReducer, type Uploads } from "@/lib/files/uploads";
import { useChat } from "./ChatContext";

/** Answers that the same bytes would get again: Retry cannot help. */
const FINAL_STATUSES: ReadonlySet<number> = new Set([400, 403, 404, 413, 415]);

export interface UploadsApi {
  uploads: Uploads;
  /** The latest problem, in words, for the composer's live region. */
  notice: string;
  add(files: readonly File[]): void;
  /** Cancel an upload in flight, or remove a chip. */
  remove(key: string): void;
  retry(key: string): void;
  /** The message went out with them: empty the tray. */
  clear(): void;
}

export function useUploads(roomId: number): UploadsApi {
  const chat = useChat();
  const [uploads, dispatch] = useReducer(uploadsReducer, []);
  const [notice, setNotice] = useState("");
  const files = useRef(new Map<string, File>());
  const transfers = useRef(new Map<string, AbortController>());
  /** The chips' local image previews, to revoke. */
  const previews = useRef(new Map<string, string>());
  const count = useRef(0);

  useEffect(() => {
    count.current = uploads.length;
  }, [uploads]);

  // Leaving the room (or the page) cancels what is still going up; the server drops unsent files later.
  useEffect(() => {
    const going = transfers.current;
    const shown = previews.current;
    return () => {
      for (const transfer of going.values()) transfer.abort();
      going.clear();
      for (const url of shown.values()) URL.revokeObjectURL(url);
      shown.clear();
    };
  }, []);

  const unpreview = (key: string) => {
    const url = previews.current.get(key);
    if (url) URL.revokeObjectURL(url);
    previews.current.delete(key);
  };

  const start = useCallback(
    (key: string, file: File) => {
      const transfer = new AbortController();
      transfers.current.set(key, transfer);
      chat.api
        .upload(roomId, file, (loaded) => dispatch({ type: "progress", key, loaded }), transfer.signal)
        .then(
          (stored) => dispatch({ type: "done", key, file: stored }),
          (error: unknown) => {
            if (error instanceof ApiError && error.code === "aborted") return; // the person cancelled it
            const why = error instanceof ApiError ? sentence(error.message) : "The upload failed.";
            const retryable = !(error instanceof ApiError && FINAL_STATUSES.has(error.status));
            dispatch({ type: "failed", key, error: why, retryable });
            setNotice(`${file.name || "The file"} did not upload. ${why}`);
          },
        )
        .finally(() => {
          if (transfers.current.get(key) === transfer) transfers.current.delete(key);
        });
    },
    [chat, roomId],
  );

  const add = useCallback(
    (picked: readonly File[]) => {
      if (picked.length === 0) return;
      const { uploads: picks, refused } = pick(count.current, picked, fileMaxBytes(MAX_FILE_BYTES));
      const chips = picks.map((chip, i) => {
        const file = picked[i]!;
        if (chip.status !== "uploading" || !isPreviewable({ content_type: file.type })) return chip;
        const preview = URL.createObjectURL(file);
        previews.current.set(chip.key, preview);
        return { ...chip, preview };
      });
      count.current += chips.length;
      dispatch({ type: "added", uploads: chips });
      const problems: string[] = refused ? [refused] : [];
      chips.forEach((chip, i) => {
        const file = picked[i]!;
        files.current.set(chip.key, file);
        if (chip.status === "uploading") start(chip.key, file);
        else problems.push(`${chip.name} was not added. ${chip.error ?? ""}`);
      });
      setNotice(problems.join(" "));
    },
    [start],
  );

  const remove = useCallback((key: string) => {
    transfers.current.get(key)?.abort();
    transfers.current.delete(key);
    files.current.delete(key);
    unpreview(key);
    count.current = Math.max(0, count.current - 1);
    dispatch({ type: "removed", key });
  }, []);

  const retry = useCallback(
    (key: string) => {
      const file = files.current.get(key);
      if (!file) return;
      dispatch({ type: "retried", key });
      setNotice("");
      start(key, file);
    },
    [start],
  );

  const clear = useCallback(() => {
    files.current.clear();
    for (const key of [...previews.current.keys()]) unpreview(key);
    count.current = 0;
    dispatch({ type: "cleared" });
    setNotice("");
  }, []);

  return { uploads, notice, add, remove, retry, clear };
}
