import { describe, expect, it } from "vitest";
import { highlightParts, messageHref, positiveParam, searchHref } from "@/lib/search";
import { msg } from "./fixtures";

const marked = (body: string, ranges: [number, number][]) =>
  highlightParts(body, ranges).map((p) => (p.mark ? `[${p.text}]` : p.text)).join("");

describe("highlightParts", () => {
  it("cuts by code points, so an emoji before a word counts as one", () => {
    expect(marked("🎉🎉 Release notes", [[3, 10], [11, 16]])).toBe("🎉🎉 [Release] [notes]");
  });

  it("keeps astral characters whole inside and around a highlight", () => {
    expect(marked("a👍b c", [[0, 3]])).toBe("[a👍b] c");
    expect(marked("x 👨‍👩‍👧 family", [[8, 14]])).toBe("x 👨‍👩‍👧 [family]");
  });

  it("returns the whole body unmarked without highlights, and nothing for an empty body", () => {
    expect(highlightParts("plain", [])).toEqual([{ text: "plain", mark: false }]);
    expect(highlightParts("", [[0, 2]])).toEqual([]);
  });

  it("clips ranges that overlap, run backwards or pass the end", () => {
    expect(marked("abcdef", [[1, 3], [2, 4], [5, 99]])).toBe("a[bc][d]e[f]");
    expect(marked("abc", [[2, 1]])).toBe("abc");
  });
});

describe("links", () => {
  it("opens a main-timeline message at its seq, and a thread-only reply in its thread", () => {
    expect(messageHref(msg(4, 12))).toBe("/rooms/4?seq=12");
    expect(messageHref(msg(4, 13, { thread_root_seq: 12 }))).toBe("/rooms/4?thread=12&seq=13");
    expect(messageHref(msg(4, 14, { thread_root_seq: 12, also_in_room: true }))).toBe("/rooms/4?seq=14");
  });

  it("builds the search address and reads positive ids from parameters", () => {
    expect(searchHref("a&b c")).toBe("/search?q=a%26b+c");
    expect(searchHref("x", 3)).toBe("/search?q=x&room=3");
    expect([positiveParam("7"), positiveParam("-1"), positiveParam("1.5"), positiveParam(null), positiveParam("x")]).toEqual([7, 0, 0, 0, 0]);
  });
});
