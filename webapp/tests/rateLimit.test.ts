import { describe, expect, it } from "vitest";
import { answerError } from "@/lib/http";
import { tooFastSentence } from "@/lib/rateLimit";
import { timelinesReducer, type TimelinesState } from "@/lib/state/timelines";
import { CursorBook } from "@/lib/ws/cursors";
import { msg } from "./fixtures";

const page = (seqs: number[], has_more = false) => ({ messages: seqs.map((s) => msg(1, s)), has_more });

function newest(seqs: number[], hasMore = true): TimelinesState {
  return timelinesReducer({}, { type: "timeline/newest", roomId: 1, page: page(seqs, hasMore) });
}

describe("rate limits", () => {
  it("says a refusal as a sentence with whole seconds", () => {
    expect(tooFastSentence(2_100)).toBe("You're sending too fast. Try again in 3 seconds.");
    expect(tooFastSentence(200)).toBe("You're sending too fast. Try again in 1 second.");
  });

  it("reads a 429 with retry_after_ms as that sentence and keeps the wait", () => {
    const error = answerError(429, { error: { code: "resource_exhausted", message: "too many", retry_after_ms: 3000 } });
    expect(error.message).toBe("You're sending too fast. Try again in 3 seconds.");
    expect(error.retryAfterMs).toBe(3000);
  });
});

describe("a replay that started after the cursor", () => {
  it("leaves a hole after the held messages, loaded with Load newer messages", () => {
    const state = timelinesReducer(newest([8, 9, 10]), { type: "timeline/replayStarted", roomId: 1, cursorSeq: 10, afterSeq: 600 });
    expect(state[1]?.holeAfter).toBe(10);
  });

  it("keeps Load older messages when nothing before the replay is held", () => {
    const state = timelinesReducer(newest([601, 602], false), { type: "timeline/replayStarted", roomId: 1, cursorSeq: 0, afterSeq: 600 });
    expect(state[1]).toMatchObject({ hasOlder: true, holeAfter: null });
  });

  it("moves the resume cursor past the skipped messages without waiting for them", () => {
    const cursors = new CursorBook();
    cursors.observeMessage(msg(1, 10));
    cursors.skipTo(1, 600);
    expect(cursors.observeMessage(msg(1, 601))).toBe("new");
    expect(cursors.lastSeq(1)).toBe(601);
  });
});
