"use client";

import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError } from "@/lib/api";
import type { Room } from "@/lib/types";
import { useChat, useStore } from "./ChatContext";
import { PanelHeader } from "./PanelHeader";

/** Public channels: search, page through, join. */
export function BrowseChannels() {
  const chat = useChat();
  const mine = useStore((s) => s.rooms.list);
  const router = useRouter();
  const [search, setSearch] = useState("");
  const [rooms, setRooms] = useState<Room[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(
    async (text: string, after?: number) => {
      setLoading(true);
      setError(null);
      try {
        const page = await chat.api.publicRooms(text, after);
        setRooms((old) => (after ? [...old, ...page.rooms] : page.rooms));
        setHasMore(page.has_more);
      } catch (caught) {
        setError(caught instanceof ApiError ? caught.message : "Could not load channels.");
      } finally {
        setLoading(false);
      }
    },
    [chat],
  );

  useEffect(() => {
    let live = true;
    chat.api.publicRooms("").then(
      (page) => {
        if (!live) return;
        setRooms(page.rooms);
        setHasMore(page.has_more);
        setLoading(false);
      },
      (caught: unknown) => {
        if (!live) return;
        setError(caught instanceof ApiError ? caught.message : "Could not load channels.");
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [chat]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void load(search.trim());
  }

  async function join(room: Room) {
    setError(null);
    try {
      chat.addRoom(await chat.api.join(room.id));
      router.push(`/rooms/${room.id}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "Could not join.");
    }
  }

  const joined = new Set(mine.map((r) => r.room.id));
  return (
    <main className="panel" aria-labelledby="browse-title">
      <PanelHeader id="browse-title" title="Public channels" />
      <form className="inline-form" onSubmit={submit} role="search">
        <label htmlFor="channel-search">Search channels</label>
        <input id="channel-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <ul className="channel-list" aria-busy={loading}>
        {rooms.map((room) => (
          <li key={room.id} className="channel">
            <div>
              <p className="channel-name">#{room.name}</p>
              <p className="room-meta">
                {room.member_count} member{room.member_count === 1 ? "" : "s"}
                {room.topic ? ` · ${room.topic}` : ""}
              </p>
            </div>
            {joined.has(room.id) ? (
              <button type="button" onClick={() => router.push(`/rooms/${room.id}`)}>
                Open
              </button>
            ) : (
              <button type="button" className="primary" onClick={() => void join(room)}>
                Join
              </button>
            )}
          </li>
        ))}
      </ul>
      {!loading && rooms.length === 0 && !error && <p className="empty">No public channels found.</p>}
      {hasMore && (
        <button type="button" onClick={() => void load(search.trim(), rooms.at(-1)?.id)} disabled={loading}>
          More channels
        </button>
      )}
    </main>
  );
}
