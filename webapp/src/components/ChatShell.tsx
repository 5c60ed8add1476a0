"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import { getSession } from "@/lib/client";
import { ChatStore } from "@/lib/store";
import { ChatContext } from "./ChatContext";
import { ConnectionBanner } from "./ConnectionBanner";
import { LiveAnnouncer } from "./LiveAnnouncer";
import { Sidebar } from "./Sidebar";

export function ChatShell({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [store] = useState(() => {
    const session = getSession();
    return session.signedIn ? new ChatStore(session) : null;
  });

  useEffect(() => {
    const session = getSession();
    const unsubscribe = session.subscribe((_, reason) => {
      if (reason === "signed_out") {
        store?.stop();
        const why = store?.getSnapshot().signedOutReason;
        router.replace(why ? "/login?reason=expired" : "/login");
      }
    });
    if (!store) router.replace("/login");
    else store.start();
    return () => {
      unsubscribe();
      store?.stop();
    };
  }, [store, router]);

  if (!store) return null;
  // On narrow screens the list and the open screen take turns; on wide ones they sit side by side.
  const view = pathname === "/" ? "list" : "detail";
  return (
    <ChatContext.Provider value={store}>
      <div className="shell" data-view={view}>
        <Sidebar />
        <div className="main-pane">
          <ConnectionBanner />
          {children}
        </div>
      </div>
      <LiveAnnouncer />
    </ChatContext.Provider>
  );
}
