import { describe, expect, it } from "vitest";
import { newTraceparent } from "@/lib/traceparent";

const FORMAT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

describe("traceparent", () => {
  it("is a sampled W3C traceparent with non-zero ids", () => {
    const value = newTraceparent();
    expect(value).toMatch(FORMAT);
    expect(value.endsWith("-01")).toBe(true);
    const [, traceId, spanId] = value.split("-");
    expect(traceId).toMatch(/[^0]/);
    expect(spanId).toMatch(/[^0]/);
  });

  it("names a new trace each time, and can say not sampled", () => {
    expect(newTraceparent()).not.toBe(newTraceparent());
    expect(newTraceparent(false)).toMatch(/-00$/);
  });
});
