import { describe, expect, it } from "vitest";
import { timelinesReducer, type TimelinesState } from "@/lib/state/timelines";
import type { Message, Reaction, ReactionFrame } from "@/lib/types";
import { msg } from "../fixtures";

const ME = 1;
const thumbs = (count: number, user_ids: number[], me: boolean): Reaction => ({ emoji: "👍", count, user_ids, me });
const party = (count: number, user_ids: number[], me: boolean): Reaction => ({ emoji: "🎉", count, user_ids, me });

/** Room 1 holding seq 1 at change 10, which I reacted 👍 to. */
function held(reactions: Reaction[] = [thumbs(1, [ME], true)]): TimelinesState {
  const page = { messages: [msg(1, 1, { change: 10, reactions })], has_more: false };
  return timelinesReducer({}, { type: "timeline/newest", roomId: 1, page });
}

function frame(change: number, user_id: number, emoji: string, added: boolean, reactions: Reaction[]): ReactionFrame {
  return { type: "reaction", room_id: 1, seq: 1, change, user_id, emoji, added, reactions };
}

function react(state: TimelinesState, reaction: ReactionFrame): TimelinesState {
  return timelinesReducer(state, { type: "message/reacted", reaction, mine: reaction.user_id === ME });
}

const message = (state: TimelinesState): Message | undefined => state[1]?.messages[0];

describe("reactions in the timeline", () => {
  it("takes another user's live frame as the aggregate and keeps my me for each emoji", () => {
    const state = react(held(), frame(11, 2, "🎉", true, [thumbs(1, [ME], false), party(1, [2], false)]));
    expect(message(state)?.reactions).toEqual([thumbs(1, [ME], true), party(1, [2], false)]);
    expect(message(state)?.change).toBe(11);
  });

  it("sets me from my own live frame (added, from another tab)", () => {
    const state = react(held(), frame(11, ME, "🎉", true, [thumbs(1, [ME], false), party(1, [ME], false)]));
    expect(message(state)?.reactions).toEqual([thumbs(1, [ME], true), party(1, [ME], true)]);
  });

  it("clears me from my own live frame that removed mine while others keep the emoji", () => {
    const before = held([thumbs(2, [ME, 2], true)]);
    const state = react(before, frame(11, ME, "👍", false, [thumbs(1, [2], false)]));
    expect(message(state)?.reactions).toEqual([thumbs(1, [2], false)]);
  });

  it("changes nothing for a duplicate or stale frame (change not newer)", () => {
    const state = react(held(), frame(11, 2, "🎉", true, [thumbs(1, [ME], false), party(1, [2], false)]));
    expect(react(state, frame(11, 2, "🎉", true, [thumbs(1, [ME], false), party(1, [2], false)]))).toBe(state);
    expect(react(state, frame(9, 2, "👍", false, []))).toBe(state);
  });

  it("drops the chip when an emoji's last reaction is removed", () => {
    const state = react(held([thumbs(1, [ME], true), party(1, [2], false)]), frame(11, 2, "🎉", false, [thumbs(1, [ME], false)]));
    expect(message(state)?.reactions).toEqual([thumbs(1, [ME], true)]);
  });

  it("ignores a frame for a message it does not hold", () => {
    const state = held();
    expect(react(state, { ...frame(11, 2, "🎉", true, [party(1, [2], false)]), seq: 7 })).toBe(state);
  });

  it("applies a REST answer (me set for me) when its change is newer", () => {
    const answer = msg(1, 1, { change: 11, reactions: [thumbs(1, [ME], true), party(1, [ME], true)] });
    const state = timelinesReducer(held(), { type: "message/changed", message: answer });
    expect(message(state)?.reactions).toEqual(answer.reactions);
  });

  it("replaces the reactions with a resume's message_updated, me as it says", () => {
    const updated = msg(1, 1, { change: 14, reactions: [party(3, [2, 3, 4], false)] });
    const state = timelinesReducer(held(), { type: "message/changed", message: updated });
    expect(message(state)?.reactions).toEqual([party(3, [2, 3, 4], false)]);
  });

  it("keeps my me through a live edit, whose reactions carry me false", () => {
    const edited = msg(1, 1, { change: 11, body: "fixed", reactions: [thumbs(1, [ME], false)] });
    const state = timelinesReducer(held(), { type: "message/changed", message: edited, shared: true });
    expect(message(state)).toMatchObject({ body: "fixed", reactions: [thumbs(1, [ME], true)] });
  });
});
