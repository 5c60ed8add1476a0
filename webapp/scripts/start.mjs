// `npm start`: run the built standalone server on PORT (default 3000) and HOSTNAME (default 0.0.0.0).
// GATEWAY_PUBLIC_URL (e.g. http://127.0.0.1:8000) tells browsers where the gateway is, at run time.
import { existsSync } from "node:fs";
import { join } from "node:path";

const server = join(import.meta.dirname, "..", ".next", "standalone", "server.js");
if (!existsSync(server)) {
  console.error("the web app is not built: run `npm run build` first");
  process.exit(1);
}
process.env.PORT ??= "3000";
process.env.HOSTNAME ??= "0.0.0.0";
process.env.NEXT_TELEMETRY_DISABLED ??= "1";
await import(server);
