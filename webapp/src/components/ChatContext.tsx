"use client";

import { createContext, useContext } from "react";
import type { ChatController } from "@/lib/chat/controller";
import type { ChatState } from "@/lib/state/root";
import { useSelector } from "@/lib/useSelector";

export { shallowEqual } from "@/lib/useSelector";

export const ChatContext = createContext<ChatController | null>(null);

/** The signed-in chat's actions (inside ChatShell). */
export function useChat(): ChatController {
  const chat = useContext(ChatContext);
  if (!chat) throw new Error("useChat outside ChatShell");
  return chat;
}

/** Part of the chat state; the component re-renders only when that part changes. */
export function useStore<T>(selector: (state: ChatState) => T, isEqual?: (a: T, b: T) => boolean): T {
  return useSelector(useChat().store, selector, isEqual);
}
