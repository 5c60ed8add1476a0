import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // A self-contained server in .next/standalone (server.js); `npm run build` copies the static
  // assets next to it, as the standalone output requires.
  output: "standalone",
  reactStrictMode: true,
  poweredByHeader: false,
  // The repository root holds other lockfiles (Python); this app is its own root.
  outputFileTracingRoot: import.meta.dirname,
};

export default nextConfig;
