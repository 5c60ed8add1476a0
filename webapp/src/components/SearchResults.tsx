"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import { dayLabel, timeLabel } from "@/lib/format";
import { highlightParts, messageHref, positiveParam, searchHref } from "@/lib/search";
import { findRoom, roomTitle } from "@/lib/state/rooms";
import { userName } from "@/lib/state/users";
import type { SearchHit } from "@/lib/types";
import { useChat, useStore } from "./ChatContext";
import { PanelHeader } from "./PanelHeader";
import { RoomIcon } from "./RoomIcon";

interface Results {
  /** What these results answer (query and room), so an old answer never lands on a new query. */
  key: string;
  hits: SearchHit[];
  next: string | null;
  error: string | null;
  loading: boolean;
}

const PAGE = 20;

/** Message search: the query and room from the address, hits newest first, more on request. */
export function SearchResults() {
  const chat = useChat();
  const router = useRouter();
  const params = useSearchParams();
  const query = (params.get("q") ?? "").trim();
  const roomId = positiveParam(params.get("room"));
  const key = `${roomId}:${query}`;
  const rooms = useStore((s) => s.rooms.list);
  const users = useStore((s) => s.users);
  const [draft, setDraft] = useState(query);
  const [results, setResults] = useState<Results>({ key: "", hits: [], next: null, error: null, loading: false });

  useEffect(() => setDraft(query), [query]);
  useEffect(() => chat.ensureUsers(results.hits.map((h) => h.message.sender_id)), [chat, results.hits]);

  useEffect(() => {
    if (!query) return;
    let live = true;
    setResults({ key, hits: [], next: null, error: null, loading: true });
    chat.api.search(query, { roomId, limit: PAGE }).then(
      (page) => live && setResults({ key, hits: page.hits, next: page.next_page_token, error: null, loading: false }),
      (caught: unknown) => live && setResults({ key, hits: [], next: null, error: problem(caught), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [chat, key, query, roomId]);

  async function more() {
    if (!results.next || results.loading) return;
    const pageToken = results.next;
    setResults((r) => ({ ...r, loading: true }));
    try {
      const page = await chat.api.search(query, { roomId, pageToken, limit: PAGE });
      setResults((r) => (r.key === key ? { ...r, hits: [...r.hits, ...page.hits], next: page.next_page_token, loading: false } : r));
    } catch (caught) {
      setResults((r) => (r.key === key ? { ...r, error: problem(caught), loading: false } : r));
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (draft.trim()) router.push(searchHref(draft.trim(), roomId));
  }

  const shown = results.key === key ? results : { hits: [], next: null, error: null, loading: Boolean(query) };
  return (
    <main className="panel search-panel" aria-labelledby="search-title">
      <PanelHeader id="search-title" title="Search messages" />
      <form className="inline-form search-form" role="search" onSubmit={submit}>
        <label htmlFor="search-query" className="sr-only">
          Words to find
        </label>
        <input
          id="search-query"
          type="search"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          maxLength={200}
          autoFocus={!query}
          placeholder="Words to find"
        />
        <label htmlFor="search-room" className="sr-only">
          Where
        </label>
        <select
          id="search-room"
          value={roomId}
          onChange={(e) => query && router.push(searchHref(query, Number(e.target.value)))}
        >
          <option value={0}>All rooms</option>
          {rooms.map((entry) => (
            <option key={entry.room.id} value={entry.room.id}>
              {entry.room.kind === "direct" ? "@" : "#"}
              {roomTitle(entry.room, users)}
            </option>
          ))}
        </select>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {shown.error && (
        <p className="form-error" role="alert">
          {shown.error}
        </p>
      )}
      <p className="search-status" role="status">
        {!query
          ? "Type words to find; the last one may be the start of a word."
          : shown.loading && shown.hits.length === 0
            ? "Searching…"
            : shown.hits.length === 0 && !shown.error
              ? `No messages with “${query}”.`
              : `${shown.hits.length}${shown.next ? "+" : ""} message${shown.hits.length === 1 ? "" : "s"} with “${query}”, newest first`}
      </p>
      <ol className="search-hits" aria-busy={shown.loading} data-testid="search-hits">
        {shown.hits.map((hit) => (
          <Hit key={`${hit.message.room_id}:${hit.message.seq}`} hit={hit} />
        ))}
      </ol>
      {shown.next && (
        <button type="button" className="search-more" onClick={() => void more()} disabled={shown.loading}>
          {shown.loading ? "Loading…" : "Load more"}
        </button>
      )}
    </main>
  );
}

function Hit({ hit }: { hit: SearchHit }) {
  const { message } = hit;
  const entry = useStore((s) => findRoom(s.rooms, message.room_id));
  const room = useStore((s) => (entry ? roomTitle(entry.room, s.users) : `room ${message.room_id}`));
  const me = useStore((s) => s.users.me?.id);
  const sender = useStore((s) => (message.sender_id === me ? "You" : userName(s.users, message.sender_id)));
  const reply = message.thread_root_seq > 0;
  return (
    <li className="search-hit" data-testid="search-hit">
      <Link href={messageHref(message)} className="search-hit-link">
        <span className="search-hit-head">
          <span className="search-hit-room">
            {entry && <RoomIcon kind={entry.room.kind} />} {room}
            {reply && <span className="search-hit-thread"> · in a thread</span>}
          </span>
          <span className="search-hit-sender">{sender}</span>
          <time dateTime={message.created_at} className="search-hit-time">
            {dayLabel(message.created_at)} {timeLabel(message.created_at)}
          </time>
        </span>
        <span className="search-hit-body">
          {highlightParts(message.body, hit.highlights).map((part, i) =>
            part.mark ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
          )}
        </span>
      </Link>
    </li>
  );
}

function problem(caught: unknown): string {
  return caught instanceof ApiError ? caught.message : "Search did not work; try again.";
}
