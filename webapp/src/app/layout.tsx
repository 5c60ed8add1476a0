import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
// Style sheets in cascade order (each file says which components it styles).
import "./styles/base.css";
import "./styles/auth.css";
import "./styles/shell.css";
import "./styles/panels.css";
import "./styles/conversation.css";
import "./styles/threads.css";
import "./styles/search.css";
import "./styles/files.css";
import "./styles/narrow.css";

// Rendered per request so that GATEWAY_PUBLIC_URL is read at run time, not baked in at build time,
// and so that each page carries its own CSP nonce (src/proxy.ts).
export const dynamic = "force-dynamic";

export const metadata: Metadata = {
  title: "Parley",
  description: "Real-time chat",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  colorScheme: "light dark",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  const gateway = process.env.GATEWAY_PUBLIC_URL;
  // chat_svc's limit, when this server is told it too: the composer refuses bigger files before uploading.
  const fileMax = process.env.CHAT_FILE_MAX_BYTES;
  return (
    <html lang="en">
      <head>
        {gateway ? <meta name="parley-gateway" content={gateway} /> : null}
        {fileMax ? <meta name="parley-file-max-bytes" content={fileMax} /> : null}
      </head>
      <body>{children}</body>
    </html>
  );
}
