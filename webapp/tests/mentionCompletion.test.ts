import { describe, expect, it } from "vitest";
import { completeMention, mentionCandidates, mentionQuery } from "@/lib/mentionCompletion";

describe("mentionQuery", () => {
  it("finds the @name being typed before the caret, lower-cased", () => {
    expect(mentionQuery("hi @Bo", 6)).toEqual({ start: 3, prefix: "bo" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, prefix: "" });
  });

  it("ignores an @ inside a word or an e-mail address, and a finished mention", () => {
    expect(mentionQuery("mail bob@exa", 12)).toBeNull();
    expect(mentionQuery("hi @bob ", 8)).toBeNull();
  });
});

describe("mentionCandidates", () => {
  it("puts names starting with the prefix first, then names containing it", () => {
    expect(mentionCandidates(["carla", "bob", "abby", "bobby"], "b")).toEqual(["bob", "bobby", "abby"]);
  });

  it("caps the list", () => {
    expect(mentionCandidates(["a1", "a2", "a3"], "a", 2)).toEqual(["a1", "a2"]);
  });
});

describe("completeMention", () => {
  it("replaces the partial name with the full one, caret after it", () => {
    const query = mentionQuery("hi @bo, ok", 6)!;
    expect(completeMention("hi @bo, ok", 6, query, "bobby")).toEqual({ text: "hi @bobby, ok", caret: 9 });
  });

  it("adds a space after a mention at the end, to go on typing", () => {
    expect(completeMention("@b", 2, mentionQuery("@b", 2)!, "bob")).toEqual({ text: "@bob ", caret: 5 });
  });
});
