// W3C trace context from the browser: a fresh `traceparent` for each REST call and WebSocket command,
// so that the gateway's spans (and everything behind it) join one trace per user action. No OpenTelemetry
// SDK here: the browser records no spans, it only names the trace (docs/observability.md, "Traces").

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
}

function nonZeroHex(bytes: number): string {
  // All zeros is the one invalid id (the spec's "no trace"): draw again, practically never twice.
  for (;;) {
    const hex = randomHex(bytes);
    if (/[^0]/.test(hex)) return hex;
  }
}

/** A new sampled traceparent: version 00, a random 16-byte trace id and 8-byte parent id, flags 01. */
export function newTraceparent(sampled = true): string {
  return `00-${nonZeroHex(16)}-${nonZeroHex(8)}-${sampled ? "01" : "00"}`;
}
