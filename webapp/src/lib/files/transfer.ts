// One upload's bytes to the gateway: POST /rooms/{id}/files?name=… with the raw file as the body.
// XMLHttpRequest rather than fetch, because only it reports upload progress.

import { answerError, ApiError, UNREACHABLE } from "../http";
import type { FileOut, UploadedFile } from "../types";

export interface Transfer {
  url: string;
  token: string;
  body: Blob;
  onProgress: (loaded: number) => void;
  signal?: AbortSignal;
}

/** What the person reads when the server said no without saying why (the server's message wins). */
const FALLBACKS: Readonly<Record<number, string>> = {
  413: "The file is larger than the server allows.",
  415: "This type of file is not allowed here.",
};

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The stored file, or ApiError (status 0 for no answer, code "aborted" when the signal aborted it). */
export function sendFile({ url, token, body, onProgress, signal }: Transfer): Promise<FileOut> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiError(0, "aborted", "Cancelled."));
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const finish = () => signal?.removeEventListener("abort", onAbort);
    xhr.open("POST", url);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", body.type || "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      finish();
      const payload = parse(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) {
        const file = (payload as Partial<UploadedFile> | null)?.file;
        if (file) return resolve(file);
        return reject(new ApiError(xhr.status, "bad_answer", "The server's answer was not understood."));
      }
      const error = answerError(xhr.status, payload);
      const said = (payload as { error?: { message?: string } } | null)?.error?.message;
      reject(said || !FALLBACKS[xhr.status] ? error : new ApiError(xhr.status, error.code, FALLBACKS[xhr.status]!));
    };
    // A 413 sent before the body was read often reaches the browser as a dropped connection.
    xhr.onerror = () => {
      finish();
      reject(new ApiError(0, "unavailable", UNREACHABLE));
    };
    xhr.onabort = () => {
      finish();
      reject(new ApiError(0, "aborted", "Cancelled."));
    };
    xhr.send(body);
  });
}
