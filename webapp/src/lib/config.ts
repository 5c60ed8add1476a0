// Where the gateway is. Run time beats build time: the root layout renders the server-side
// environment variable GATEWAY_PUBLIC_URL as <meta name="parley-gateway">; otherwise the
// build-time NEXT_PUBLIC_GATEWAY_URL; otherwise the page's own host on port 8000.

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Base URL of the gateway, e.g. http://127.0.0.1:8000 (no trailing slash). */
export function gatewayUrl(): string {
  if (typeof document !== "undefined") {
    const meta = document.querySelector<HTMLMetaElement>('meta[name="parley-gateway"]');
    if (meta?.content) return trimSlash(meta.content);
  }
  const built = process.env.NEXT_PUBLIC_GATEWAY_URL;
  if (built) return trimSlash(built);
  if (typeof window === "undefined") return "http://127.0.0.1:8000";
  return `${window.location.protocol}//${window.location.hostname}:8000`;
}

/** Base URL of the REST API. */
export function apiUrl(): string {
  return `${gatewayUrl()}/api/v1`;
}

/** URL of the WebSocket: ws:// for http, wss:// for https. */
export function wsUrl(): string {
  return `${apiUrl().replace(/^http/, "ws")}/ws`;
}

/** The largest file the composer lets go up: CHAT_FILE_MAX_BYTES of the web app's server, else `fallback`. */
export function fileMaxBytes(fallback: number): number {
  if (typeof document === "undefined") return fallback;
  const meta = document.querySelector<HTMLMetaElement>('meta[name="parley-file-max-bytes"]');
  const bytes = Number(meta?.content);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : fallback;
}
