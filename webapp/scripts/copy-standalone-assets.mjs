// After `next build`: the standalone server serves .next/static and public/ only when they sit
// beside it (https://nextjs.org/docs/app/api-reference/config/next-config-js/output).
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const standalone = join(root, ".next", "standalone");
if (!existsSync(join(standalone, "server.js"))) {
  console.error("no .next/standalone/server.js: is output: 'standalone' set in next.config.ts?");
  process.exit(1);
}
cpSync(join(root, ".next", "static"), join(standalone, ".next", "static"), { recursive: true });
if (existsSync(join(root, "public"))) {
  cpSync(join(root, "public"), join(standalone, "public"), { recursive: true });
}
console.log("copied .next/static and public/ into .next/standalone");
