// @vitest-environment happy-dom
import { act, createElement, useRef } from "react";
import { describe, expect, it } from "vitest";
import type { Action } from "@/lib/state/actions";
import { chatReducer, initialChatState, type ChatState } from "@/lib/state/root";
import { createStore, type Store } from "@/lib/store";
import { shallowEqual, useSelector } from "@/lib/useSelector";
import { msg, myRoom, user } from "./fixtures";
import { render } from "./render";


/** Render one component reading `selector`; its render count and last value. */
function mount<T>(store: Store<ChatState, Action>, selector: (s: ChatState) => T, isEqual?: (a: T, b: T) => boolean) {
  const seen = { renders: 0, value: undefined as T | undefined };
  function Probe() {
    const value = useSelector(store, selector, isEqual);
    const renders = useRef(0);
    renders.current += 1;
    seen.renders = renders.current;
    seen.value = value;
    return null;
  }
  render(createElement(Probe));
  return seen;
}

function chatStore(): Store<ChatState, Action> {
  const store = createStore(chatReducer, initialChatState(user(1)));
  store.dispatch({ type: "rooms/loaded", rooms: [myRoom(1), myRoom(2)] });
  return store;
}

const received = (room: number, seq: number): Action => ({
  type: "message/received",
  message: msg(room, seq),
  fresh: true,
  unread: true,
  mention: false,
  announce: null,
});

describe("useSelector", () => {
  it("re-renders a component when the slice it reads changes", () => {
    const store = chatStore();
    const timeline = mount(store, (s) => s.timelines[1]);
    expect(timeline.renders).toBe(1);
    act(() => store.dispatch(received(1, 1)));
    expect(timeline.renders).toBe(2);
    expect(timeline.value?.messages.map((m) => m.seq)).toEqual([1]);
  });

  it("does not re-render a component when another slice changes", () => {
    const store = chatStore();
    const typing = mount(store, (s) => s.live.typing[1]);
    act(() => store.dispatch(received(2, 1)));
    act(() => store.dispatch({ type: "users/loaded", users: [user(5)] }));
    expect(typing.renders).toBe(1);
    act(() => store.dispatch({ type: "typing/started", roomId: 1, userId: 5, expiresAt: 1 }));
    expect(typing.renders).toBe(2);
  });

  it("with shallowEqual, does not re-render for a new array with the same items", () => {
    const store = chatStore();
    const ids = mount(store, (s) => s.rooms.list.map((r) => r.room.id).sort(), shallowEqual);
    act(() => store.dispatch(received(2, 1))); // room 2 moves to the top: same set of ids
    expect(ids.renders).toBe(1);
    act(() => store.dispatch({ type: "room/removed", roomId: 1 }));
    expect(ids.renders).toBe(2);
    expect(ids.value).toEqual([2]);
  });
});

describe("shallowEqual", () => {
  it("compares arrays and objects one level deep", () => {
    const a = { x: 1 };
    expect(shallowEqual([a, 2], [a, 2])).toBe(true);
    expect(shallowEqual([{ x: 1 }], [{ x: 1 }])).toBe(false);
    expect(shallowEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(shallowEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(shallowEqual([1], { 0: 1 })).toBe(false);
  });
});
