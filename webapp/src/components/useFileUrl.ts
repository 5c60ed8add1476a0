"use client";

import { useEffect, useState } from "react";
import { useChat } from "./ChatContext";

export type FileUrl = { status: "loading" } | { status: "ready"; url: string } | { status: "failed" };

/** A file's object URL (or its thumbnail's) while the component shows it; released when it stops. */
export function useFileUrl(fileId: string | null, thumbnail = false): FileUrl {
  const { files } = useChat();
  const [state, setState] = useState<{ key: string; value: FileUrl } | null>(null);
  const key = `${fileId}:${thumbnail}`;

  useEffect(() => {
    if (!fileId) return;
    const held = files.hold(fileId, thumbnail);
    let live = true;
    held.url.then(
      (url) => live && setState({ key, value: { status: "ready", url } }),
      () => live && setState({ key, value: { status: "failed" } }),
    );
    return () => {
      live = false;
      held.release();
    };
  }, [files, fileId, thumbnail, key]);

  return state?.key === key ? state.value : { status: "loading" };
}
