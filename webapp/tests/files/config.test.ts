// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { fileMaxBytes } from "@/lib/config";

afterEach(() => document.head.querySelectorAll("meta").forEach((meta) => meta.remove()));

function serverSays(content: string) {
  const meta = document.createElement("meta");
  meta.name = "parley-file-max-bytes";
  meta.content = content;
  document.head.appendChild(meta);
}

describe("fileMaxBytes", () => {
  it("is the limit the web app's server was given", () => {
    serverSays("1048576");
    expect(fileMaxBytes(25)).toBe(1048576);
  });

  it("falls back to the default when there is none, or it is not a positive whole number", () => {
    expect(fileMaxBytes(25)).toBe(25);
    serverSays("lots");
    expect(fileMaxBytes(25)).toBe(25);
  });
});
