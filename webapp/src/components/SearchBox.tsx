"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { searchHref } from "@/lib/search";

/** The sidebar's message search: Enter opens the results; Ctrl+K (⌘K) focuses it from anywhere. */
export function SearchBox() {
  const router = useRouter();
  const input = useRef<HTMLInputElement>(null);
  const [query, setQuery] = useState("");

  useEffect(() => {
    function onKeyDown(event: KeyboardEvent) {
      if (event.key.toLowerCase() !== "k" || !(event.ctrlKey || event.metaKey) || event.altKey) return;
      event.preventDefault();
      const box = input.current;
      // Hidden on a narrow screen while a conversation is open: the search page has its own box.
      if (box && box.offsetParent !== null) box.focus();
      else router.push("/search");
    }
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [router]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (query.trim()) router.push(searchHref(query.trim()));
  }

  return (
    <form className="search-box" role="search" onSubmit={submit}>
      <label htmlFor="message-search" className="sr-only">
        Search messages
      </label>
      <input
        ref={input}
        id="message-search"
        type="search"
        placeholder="Search messages"
        aria-keyshortcuts="Control+K Meta+K"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        maxLength={200}
      />
      <kbd className="search-key" aria-hidden="true">
        Ctrl K
      </kbd>
    </form>
  );
}
