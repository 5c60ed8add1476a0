import { describe, expect, it } from "vitest";
import { contentSecurityPolicy, gatewayBase, gatewayOrigins, newNonce } from "@/lib/securityHeaders";

/** The policy as a map: directive -> its sources. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy.split("; ").map((part) => {
      const [name, ...sources] = part.split(" ");
      return [name ?? "", sources];
    }),
  );
}

const policy = (gateway = "http://127.0.0.1:8000", dev = false) =>
  directives(contentSecurityPolicy({ nonce: "abc123", gateway, dev }));

describe("contentSecurityPolicy", () => {
  it("lets only scripts with this response's nonce run, and what they load", () => {
    expect(policy().get("script-src")).toEqual(["'nonce-abc123'", "'strict-dynamic'"]);
  });

  it("allows style sheets from the app and nonced style tags, never inline styles", () => {
    expect(policy().get("style-src")).toEqual(["'self'", "'nonce-abc123'"]);
  });

  it("allows the gateway's REST and WebSocket origins to be connected to", () => {
    expect(policy("https://chat.example.com/").get("connect-src")).toEqual([
      "'self'",
      "https://chat.example.com",
      "wss://chat.example.com",
    ]);
  });

  it("allows images from the app and blob: URLs (files fetched with the token)", () => {
    expect(policy().get("img-src")).toEqual(["'self'", "blob:"]);
  });

  it("forbids framing, plugins, base URLs and forms posting elsewhere", () => {
    const parts = policy();
    expect(parts.get("frame-ancestors")).toEqual(["'none'"]);
    expect(parts.get("object-src")).toEqual(["'none'"]);
    expect(parts.get("base-uri")).toEqual(["'none'"]);
    expect(parts.get("form-action")).toEqual(["'self'"]);
  });

  it("allows eval and inline styles only under next dev", () => {
    const dev = policy("http://127.0.0.1:8000", true);
    expect(dev.get("script-src")).toContain("'unsafe-eval'");
    expect(dev.get("style-src")).toContain("'unsafe-inline'");
    expect(policy().get("script-src")).not.toContain("'unsafe-eval'");
  });
});

describe("gatewayOrigins", () => {
  it("gives the http origin and its ws twin, port kept, path dropped", () => {
    expect(gatewayOrigins("http://127.0.0.1:8000/base")).toEqual(["http://127.0.0.1:8000", "ws://127.0.0.1:8000"]);
  });

  it("gives nothing for a URL that does not parse or is not http(s)", () => {
    expect(gatewayOrigins("not a url")).toEqual([]);
    expect(gatewayOrigins("javascript:alert(1)")).toEqual([]);
  });
});

describe("gatewayBase", () => {
  it("prefers the configured URL", () => {
    expect(gatewayBase("https://chat.example.com", { protocol: "http:", hostname: "x" })).toBe(
      "https://chat.example.com",
    );
  });

  it("falls back to the page's host on port 8000, as the browser code does", () => {
    expect(gatewayBase(undefined, { protocol: "https:", hostname: "chat.local" })).toBe("https://chat.local:8000");
  });
});

describe("newNonce", () => {
  it("is 128 random bits in base64, fresh each time", () => {
    const nonce = newNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(newNonce()).not.toBe(nonce);
  });
});
