import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Not found · Parley" };

// Next's built-in 404 page styles itself with style="" attributes and a <style> tag without the
// nonce, which the Content-Security-Policy blocks (src/proxy.ts): this one uses the app's sheets.
export default function NotFound() {
  return (
    <main className="auth">
      <div className="auth-card">
        <h1>
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          Page not found
        </h1>
        <p className="auth-switch">
          <Link href="/">Back to your conversations</Link>
        </p>
      </div>
    </main>
  );
}
