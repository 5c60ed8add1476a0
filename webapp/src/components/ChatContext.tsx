"use client";

import { createContext, useContext, useSyncExternalStore } from "react";
import type { ChatState, ChatStore } from "@/lib/store";

export const ChatContext = createContext<ChatStore | null>(null);

/** The signed-in chat store (inside ChatShell). */
export function useStore(): ChatStore {
  const store = useContext(ChatContext);
  if (!store) throw new Error("useStore outside ChatShell");
  return store;
}

/** The current chat state; re-renders on every change. */
export function useChatState(): ChatState {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
