// The one place that talks HTTP to the gateway: JSON in and out, errors as ApiError.

import { apiUrl } from "./config";
import { tooFastSentence } from "./rateLimit";
import { newTraceparent } from "./traceparent";

/** An error answer ({"error": {"code", "message"}}) or a failed request. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** A rate limit's: when the same request would be accepted. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The request never got an answer (gateway down, offline, CORS). */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

function describe(status: number): string {
  if (status === 429) return "Too many requests; wait a moment and try again.";
  if (status >= 500) return "The server had a problem; try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

/** Send one request; the parsed JSON answer (undefined for 204), or ApiError. */
export async function request<T>(method: Method, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", traceparent: newTraceparent() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`${apiUrl()}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "unavailable", UNREACHABLE);
  }
  if (response.status === 204) return undefined as T;
  let payload: unknown = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw answerError(response.status, payload);
  return payload as T;
}

/** The ApiError of an error answer: its status and parsed JSON body (null when it had none). */
export function answerError(status: number, payload: unknown): ApiError {
  const error = (payload as { error?: { code?: string; message?: string; retry_after_ms?: number | null } } | null)
    ?.error;
  const detail = (payload as { detail?: unknown } | null)?.detail;
  const retryAfterMs = status === 429 ? error?.retry_after_ms : undefined;
  const message =
    typeof retryAfterMs === "number"
      ? tooFastSentence(retryAfterMs)
      : (error?.message ?? (typeof detail === "string" ? detail : undefined) ?? describe(status));
  return new ApiError(status, error?.code ?? "http_" + status, message, retryAfterMs ?? null);
}

export const UNREACHABLE = "Cannot reach the server. Check your connection and try again.";

/** GET bytes (a file): a Blob, or ApiError. */
export async function requestBlob(path: string, token: string): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl()}${path}`, {
      headers: { Authorization: `Bearer ${token}`, traceparent: newTraceparent() },
    });
  } catch {
    throw new ApiError(0, "unavailable", UNREACHABLE);
  }
  if (!response.ok) throw answerError(response.status, await response.json().catch(() => null));
  return response.blob();
}
