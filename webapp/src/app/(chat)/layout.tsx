import type { ReactNode } from "react";
import { ClientShell } from "@/components/ClientShell";

export default function ChatLayout({ children }: { children: ReactNode }) {
  return <ClientShell>{children}</ClientShell>;
}
