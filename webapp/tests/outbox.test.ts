import { describe, expect, it } from "vitest";
import { newClientMsgId, Outbox } from "@/lib/ws/outbox";

describe("Outbox", () => {
  it("keeps the client_msg_id of a send until it is confirmed, for resending", () => {
    const outbox = new Outbox();
    const a = outbox.add(1, "hello");
    const b = outbox.add(1, "again");
    expect(outbox.toResend().map((i) => i.clientMsgId)).toEqual([a.clientMsgId, b.clientMsgId]);
    expect(outbox.confirm(a.clientMsgId)).toBe(true);
    expect(outbox.confirm(a.clientMsgId)).toBe(false);
    expect(outbox.toResend()).toHaveLength(1);
  });

  it("does not resend a failed send until retried", () => {
    const outbox = new Outbox();
    const a = outbox.add(2, "too long");
    outbox.fail(a.clientMsgId, "limit is 4000");
    expect(outbox.toResend()).toEqual([]);
    expect(outbox.forRoom(2)[0]?.error).toBe("limit is 4000");
    expect(outbox.retry(a.clientMsgId)?.clientMsgId).toBe(a.clientMsgId);
    expect(outbox.toResend()).toHaveLength(1);
  });

  it("makes ids that fit the 64-character limit and differ", () => {
    const ids = new Set(Array.from({ length: 100 }, newClientMsgId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
  });
});
