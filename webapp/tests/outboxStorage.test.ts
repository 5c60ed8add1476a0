// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from "vitest";
import { OutboxStorage } from "@/lib/chat/outboxStorage";
import { outboxReducer, IN_ROOM, pendingFileIds, pendingSend, type OutboxState } from "@/lib/state/outbox";
import { fileOut } from "./fixtures";

const queue = (state: OutboxState, id: string, room = 1) =>
  outboxReducer(state, { type: "outbox/queued", item: pendingSend(room, `body ${id}`, IN_ROOM, id) }, 1);
const confirm = (state: OutboxState, id: string) => outboxReducer(state, { type: "outbox/confirmed", clientMsgId: id }, 1);

beforeEach(() => localStorage.clear());

describe("OutboxStorage", () => {
  it("keeps my unsent messages across a reload, and forgets confirmed ones", () => {
    const tab = new OutboxStorage(localStorage, 7);
    const one = queue({}, "a");
    tab.persist({}, one);
    const two = queue(one, "b", 2);
    tab.persist(one, two);
    expect(new OutboxStorage(localStorage, 7).load().map((i) => i.clientMsgId)).toEqual(["a", "b"]);
    tab.persist(two, confirm(two, "a"));
    expect(tab.load().map((i) => i.clientMsgId)).toEqual(["b"]);
    tab.persist(confirm(two, "a"), confirm(confirm(two, "a"), "b"));
    expect(localStorage.getItem("parley.outbox.v1.7")).toBeNull();
  });

  it("keeps each user's outbox apart", () => {
    new OutboxStorage(localStorage, 7).persist({}, queue({}, "a"));
    expect(new OutboxStorage(localStorage, 8).load()).toEqual([]);
  });

  it("merges the changes of two tabs instead of one overwriting the other", () => {
    const first = new OutboxStorage(localStorage, 7);
    const second = new OutboxStorage(localStorage, 7);
    first.persist({}, queue({}, "a"));
    second.persist({}, queue({}, "b")); // the second tab had not heard of "a" yet
    expect(first.load().map((i) => i.clientMsgId).sort()).toEqual(["a", "b"]);
    first.persist(queue({}, "a"), {});
    expect(second.load().map((i) => i.clientMsgId)).toEqual(["b"]);
  });

  it("ignores what it cannot read", () => {
    localStorage.setItem("parley.outbox.v1.7", "{not json");
    expect(new OutboxStorage(localStorage, 7).load()).toEqual([]);
    localStorage.setItem("parley.outbox.v1.7", JSON.stringify([{ clientMsgId: 1 }, pendingSend(1, "ok", IN_ROOM, "a")]));
    expect(new OutboxStorage(localStorage, 7).load().map((i) => i.clientMsgId)).toEqual(["a"]);
  });

  it("tells about another tab's changes to this user's outbox only", () => {
    const tab = new OutboxStorage(localStorage, 7);
    const heard: string[][] = [];
    const stop = tab.watch((items) => heard.push(items.map((i) => i.clientMsgId)));
    localStorage.setItem("parley.outbox.v1.7", JSON.stringify([pendingSend(1, "x", IN_ROOM, "a")]));
    window.dispatchEvent(new StorageEvent("storage", { key: "parley.outbox.v1.7" }));
    window.dispatchEvent(new StorageEvent("storage", { key: "parley.outbox.v1.8" }));
    stop();
    window.dispatchEvent(new StorageEvent("storage", { key: "parley.outbox.v1.7" }));
    expect(heard).toEqual([["a"]]);
  });

  it("keeps a pending send's files across a reload, and drops an item whose files are unreadable", () => {
    const item = pendingSend(1, "", IN_ROOM, "a", new Date(), [fileOut("f1"), fileOut("f2")]);
    new OutboxStorage(localStorage, 7).persist({}, outboxReducer({}, { type: "outbox/queued", item }, 7));
    const [loaded] = new OutboxStorage(localStorage, 7).load();
    expect(pendingFileIds(loaded!)).toEqual(["f1", "f2"]);
    expect(loaded?.files?.[0]).toEqual(fileOut("f1"));
    localStorage.setItem("parley.outbox.v1.7", JSON.stringify([{ ...item, files: [{ id: 3 }] }, { ...item, clientMsgId: "b", files: "x" }]));
    expect(new OutboxStorage(localStorage, 7).load()).toEqual([]);
  });
});
