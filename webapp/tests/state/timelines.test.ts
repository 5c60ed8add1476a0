import { describe, expect, it } from "vitest";
import { olderCursor, timelinesReducer, type TimelinesState } from "@/lib/state/timelines";
import { msg } from "../fixtures";

const page = (seqs: number[], has_more = false) => ({ messages: seqs.map((s) => msg(1, s)), has_more });

function newest(seqs: number[], hasMore = true): TimelinesState {
  return timelinesReducer({}, { type: "timeline/newest", roomId: 1, page: page(seqs, hasMore) });
}

describe("timelinesReducer", () => {
  it("holds live messages before the first page and merges the page in by seq", () => {
    let state = timelinesReducer({}, { type: "message/received", message: msg(1, 12), fresh: true, unread: false, mention: false, announce: null });
    expect(state[1]).toMatchObject({ loaded: false });
    state = timelinesReducer(state, { type: "timeline/newest", roomId: 1, page: page([10, 11, 12], true) });
    expect(state[1]?.messages.map((m) => m.seq)).toEqual([10, 11, 12]);
    expect(state[1]).toMatchObject({ loaded: true, hasOlder: true, error: null });
  });

  it("returns the same state for a message it holds already (a duplicate frame)", () => {
    const state = newest([1, 2]);
    const again = timelinesReducer(state, { type: "message/received", message: msg(1, 2), fresh: false, unread: false, mention: false, announce: null });
    expect(again).toBe(state);
  });

  it("applies an edit only when its change is newer", () => {
    const state = newest([1, 2]);
    const edited = timelinesReducer(state, { type: "message/changed", message: msg(1, 2, { change: 5, body: "fixed" }) });
    expect(edited[1]?.messages[1]?.body).toBe("fixed");
    const stale = timelinesReducer(edited, { type: "message/changed", message: msg(1, 2, { change: 3, body: "old" }) });
    expect(stale).toBe(edited);
  });

  it("pages back: from the oldest seq, one page at a time, until there is nothing older", () => {
    let state = newest([51, 52]);
    expect(olderCursor(state[1])).toBe(51);
    state = timelinesReducer(state, { type: "timeline/olderRequested", roomId: 1 });
    expect(olderCursor(state[1])).toBeNull();
    state = timelinesReducer(state, { type: "timeline/older", roomId: 1, page: page([49, 50], false) });
    expect(state[1]?.messages.map((m) => m.seq)).toEqual([49, 50, 51, 52]);
    expect(state[1]).toMatchObject({ loadingOlder: false, hasOlder: false });
    expect(olderCursor(state[1])).toBeNull();
  });

  it("knows there is nothing before seq 1, and nothing to page before the first load", () => {
    expect(olderCursor(newest([1, 2])[1])).toBe("none");
    expect(olderCursor(undefined)).toBeNull();
    const state = timelinesReducer(newest([1]), { type: "timeline/noOlder", roomId: 1 });
    expect(state[1]?.hasOlder).toBe(false);
  });

  it("keeps the messages and shows the error when a page fails", () => {
    let state = timelinesReducer(newest([5]), { type: "timeline/olderRequested", roomId: 1 });
    state = timelinesReducer(state, { type: "timeline/failed", roomId: 1, error: "offline" });
    expect(state[1]).toMatchObject({ loadingOlder: false, error: "offline" });
    expect(state[1]?.messages).toHaveLength(1);
  });

  it("fills a gap: marks it in progress and merges the missing messages", () => {
    let state = timelinesReducer(newest([1, 2, 5]), { type: "timeline/gapFill", roomId: 1, filling: true });
    expect(state[1]?.fillingGap).toBe(true);
    state = timelinesReducer(state, { type: "timeline/gapPage", roomId: 1, messages: [msg(1, 3), msg(1, 4)] });
    state = timelinesReducer(state, { type: "timeline/gapFill", roomId: 1, filling: false });
    expect(state[1]?.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(state[1]?.fillingGap).toBe(false);
  });

  it("leaves other rooms' timelines as they were", () => {
    const state = { ...newest([1]), 2: newest([7])[1]! };
    const next = timelinesReducer(state, { type: "timeline/gapPage", roomId: 1, messages: [msg(1, 2)] });
    expect(next[2]).toBe(state[2]);
  });
});

describe("jumping to an old message", () => {
  const seqs = (state: TimelinesState) => state[1]?.messages.map((m) => m.seq);
  const around = (state: TimelinesState, seq: number, before: number[], after: number[], afterMore: boolean) =>
    timelinesReducer(state, { type: "timeline/around", roomId: 1, seq, before: page(before, true), after: page(after, afterMore) });

  it("holds the stretch around the message beside the newest page, with a hole between them", () => {
    const state = around(newest([90, 91, 92]), 20, [18, 19, 20], [21, 22], true);
    expect(seqs(state)).toEqual([18, 19, 20, 21, 22, 90, 91, 92]);
    expect(state[1]).toMatchObject({ holeAfter: 22, hasOlder: true, loaded: true });
  });

  it("has no hole when the page after the message reaches the newest held", () => {
    const state = around(newest([22, 23]), 20, [19, 20], [21, 22], true);
    expect(state[1]?.holeAfter).toBeNull();
    expect(around(newest([90]), 20, [20], [21], false)[1]?.holeAfter).toBeNull();
  });

  it("closes the hole with newer pages, once one reaches the newest held", () => {
    let state = around(newest([90, 91]), 20, [20], [21, 22], true);
    state = timelinesReducer(state, { type: "timeline/newerRequested", roomId: 1 });
    expect(state[1]?.loadingNewer).toBe(true);
    state = timelinesReducer(state, { type: "timeline/newer", roomId: 1, page: page([23, 24], true) });
    expect(state[1]).toMatchObject({ holeAfter: 24, loadingNewer: false });
    state = timelinesReducer(state, { type: "timeline/newer", roomId: 1, page: page([25, 90], true) });
    expect(state[1]?.holeAfter).toBeNull();
    expect(seqs(state)).toEqual([20, 21, 22, 23, 24, 25, 90, 91]);
  });

  it("lets the newest page close the hole when it arrives after the jump and reaches back into it", () => {
    let state = around({}, 20, [20], [21, 22], true);
    expect(state[1]).toMatchObject({ holeAfter: 22, loaded: false });
    state = timelinesReducer(state, { type: "timeline/newest", roomId: 1, page: page([22, 23], false) });
    expect(state[1]).toMatchObject({ holeAfter: null, loaded: true });
  });

  it("drops an earlier jump's stretch, so there is never more than one hole", () => {
    let state = around(newest([90, 91]), 50, [50], [51], true);
    state = around(state, 10, [9, 10], [11], true);
    expect(seqs(state)).toEqual([9, 10, 11, 90, 91]);
    expect(state[1]?.holeAfter).toBe(11);
  });
});

describe("a newest page after a jump", () => {
  it("keeps the jumped-to stretch's answer about older messages", () => {
    let state = timelinesReducer({}, { type: "timeline/around", roomId: 1, seq: 1, before: page([1], false), after: page([2, 3], true) });
    expect(state[1]).toMatchObject({ hasOlder: false, holeAfter: 3 });
    state = timelinesReducer(state, { type: "timeline/newest", roomId: 1, page: page([90, 91], true) });
    expect(state[1]).toMatchObject({ hasOlder: false, holeAfter: 3, loaded: true });
  });
});
