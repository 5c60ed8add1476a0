// What a refused command (a rate limit: HTTP 429, or a resource_exhausted error frame) says to the person.

/** "You're sending too fast. Try again in 3 seconds." for a retry-after in ms. */
export function tooFastSentence(retryAfterMs: number): string {
  return `You're sending too fast. ${tryAgainIn(retryAfterMs)}`;
}

/** "Try again in 3 seconds." for a retry-after in ms. */
export function tryAgainIn(retryAfterMs: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return `Try again in ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
}
