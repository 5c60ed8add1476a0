// Security headers on every answer of the web app, pages and assets alike (Next's Proxy runs before
// each request; no matcher, so _next/static and 404s get them too). The nonce goes into the policy
// of the request as well: Next reads it from there and puts it on the scripts it renders
// (node_modules/next/dist/docs/01-app/02-guides/content-security-policy.md).
import { NextResponse, type NextRequest } from "next/server";
import { FIXED_HEADERS, contentSecurityPolicy, gatewayBase, newNonce } from "@/lib/securityHeaders";

export function proxy(request: NextRequest): NextResponse {
  const nonce = newNonce();
  // The same choice as lib/config.ts makes in the browser (the root layout renders GATEWAY_PUBLIC_URL).
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  const page = {
    protocol: forwarded ? `${forwarded}:` : request.nextUrl.protocol,
    hostname: request.nextUrl.hostname,
  };
  const gateway = gatewayBase(process.env.GATEWAY_PUBLIC_URL || process.env.NEXT_PUBLIC_GATEWAY_URL, page);
  const policy = contentSecurityPolicy({ nonce, gateway, dev: process.env.NODE_ENV === "development" });

  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("Content-Security-Policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", policy);
  for (const [name, value] of Object.entries(FIXED_HEADERS)) response.headers.set(name, value);
  return response;
}
