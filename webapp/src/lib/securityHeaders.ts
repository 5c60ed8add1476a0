// The web app's security headers (docs/security.md, "Headers, origins and the internal network"),
// built per request by src/proxy.ts. Pure: no request, no environment, so it is tested alone.

/** Sent with every page and asset, as the gateway sends them (edge_gateway/headers.py). */
export const FIXED_HEADERS: Readonly<Record<string, string>> = {
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
};

export interface PolicyInput {
  /** This response's nonce: Next reads it back from the policy and puts it on its scripts. */
  nonce: string;
  /** The gateway's base URL, as the browser code will use it (see gatewayBase). */
  gateway: string;
  /** `next dev`: React's dev tools need eval and Next's overlay injects styles without the nonce. */
  dev?: boolean;
}

/**
 * The gateway's base URL as src/lib/config.ts will compute it in the browser: GATEWAY_PUBLIC_URL,
 * else the build-time NEXT_PUBLIC_GATEWAY_URL, else the page's own host on port 8000.
 */
export function gatewayBase(configured: string | undefined, page: { protocol: string; hostname: string }): string {
  if (configured) return configured;
  return `${page.protocol}//${page.hostname}:8000`;
}

/**
 * The origins the browser talks to the gateway on: REST (http/https) and the WebSocket (ws/wss),
 * or none when the URL does not parse (then only 'self' is allowed, and the failure shows at once).
 */
export function gatewayOrigins(gateway: string): string[] {
  let url: URL;
  try {
    url = new URL(gateway);
  } catch {
    return [];
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return [];
  const socket = url.protocol === "https:" ? "wss:" : "ws:";
  return [url.origin, `${socket}//${url.host}`];
}

/** A fresh nonce: 128 random bits, base64. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** The Content-Security-Policy of a page. */
export function contentSecurityPolicy({ nonce, gateway, dev = false }: PolicyInput): string {
  const origins = gatewayOrigins(gateway);
  const directives: [string, ...string[]][] = [
    ["default-src", "'self'"],
    // 'strict-dynamic': the nonced Next scripts may load the page's chunks; hosts and 'self' are
    // then ignored by browsers that know it, so nothing else runs.
    ["script-src", `'nonce-${nonce}'`, "'strict-dynamic'", ...(dev ? ["'unsafe-eval'"] : [])],
    // Style sheets are files under /_next/static; Next nonces the few <style> tags it writes. Inline
    // style="" attributes stay blocked: React sets the ones the app uses (image boxes) through
    // the CSSOM, which CSP allows. Dev only: the error overlay's styles carry no nonce.
    ["style-src", "'self'", dev ? "'unsafe-inline'" : `'nonce-${nonce}'`],
    // Files and thumbnails are fetched with the token and shown as blob: URLs (lib/files/fileUrls.ts).
    // No data: URLs: the app has none (no inline icons, no fonts).
    ["img-src", "'self'", "blob:"],
    // REST calls, file fetches and the WebSocket all go to the gateway.
    ["connect-src", "'self'", ...origins],
    ["object-src", "'none'"],
    ["base-uri", "'none'"],
    ["form-action", "'self'"],
    ["frame-ancestors", "'none'"],
  ];
  return directives.map((parts) => parts.join(" ")).join("; ");
}
