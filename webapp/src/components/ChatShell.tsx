"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";
import { getSession } from "@/lib/client";
import { ChatController } from "@/lib/chat/controller";
import { Notifier } from "@/lib/notifications";
import { ACCOUNT_DISABLED } from "@/lib/ws/socket";
import { ChatContext } from "./ChatContext";
import { ConnectionBanner } from "./ConnectionBanner";
import { LiveAnnouncer } from "./LiveAnnouncer";
import { Sidebar } from "./Sidebar";

export function ChatShell({ children }: { children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const [chat] = useState(() => {
    const session = getSession();
    return session.signedIn ? new ChatController(session, { notifier: new Notifier((path) => router.push(path)) }) : null;
  });

  useEffect(() => {
    const session = getSession();
    const unsubscribe = session.subscribe((_, reason) => {
      if (reason === "signed_out") {
        chat?.stop();
        const why = chat?.store.getState().connection.signedOutReason;
        router.replace(why ? `/login?reason=${why === ACCOUNT_DISABLED ? "disabled" : "expired"}` : "/login");
      }
    });
    if (!chat) router.replace("/login");
    else chat.start();
    return () => {
      unsubscribe();
      chat?.stop();
    };
  }, [chat, router]);

  if (!chat) return null;
  // On narrow screens the list and the open screen take turns; on wide ones they sit side by side.
  const view = pathname === "/" ? "list" : "detail";
  return (
    <ChatContext.Provider value={chat}>
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
