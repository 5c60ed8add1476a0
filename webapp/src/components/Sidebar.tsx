"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState } from "react";
import { isArchived } from "@/lib/readOnly";
import { roomTitle } from "@/lib/state/rooms";
import type { UsersState } from "@/lib/state/users";
import type { MyRoom } from "@/lib/types";
import { useChat, useStore } from "./ChatContext";
import { BlockedUsers } from "./BlockedUsers";
import { Invitations } from "./Invitations";
import { NotificationPermission } from "./NotificationPermission";
import { RoomIcon } from "./RoomIcon";
import { SearchBox } from "./SearchBox";

function RoomLink({ entry, users, current }: { entry: MyRoom; users: UsersState; current: boolean }) {
  const title = roomTitle(entry.room, users);
  const unread = entry.unread_count;
  const mentions = entry.mention_count;
  const muted = entry.notification_level === "none";
  return (
    <li>
      <Link
        href={`/rooms/${entry.room.id}`}
        className={`room-link${current ? " current" : ""}${unread > 0 ? " has-unread" : ""}${muted ? " muted" : ""}`}
        aria-current={current ? "page" : undefined}
        data-room-id={entry.room.id}
      >
        <span className="room-prefix">
          <RoomIcon kind={entry.room.kind} />
        </span>
        <span className="room-name">{title}</span>
        {muted && <span className="sr-only">(muted)</span>}
        {isArchived(entry.room) && (
          <span className="room-archived" title="Archived: read-only">
            archived
          </span>
        )}
        {mentions > 0 && (
          <span className="mentions" aria-label={`${mentions} mention${mentions === 1 ? "" : "s"}`} data-testid="mention-count">
            @{mentions > 99 ? "99+" : mentions}
          </span>
        )}
        {unread > 0 && (
          <span className="unread" aria-label={`${unread} unread`} data-testid="unread-count">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </Link>
    </li>
  );
}

export function Sidebar() {
  const rooms = useStore((s) => s.rooms);
  const users = useStore((s) => s.users);
  const chat = useChat();
  const pathname = usePathname();
  const [signingOut, setSigningOut] = useState(false);
  const channels = rooms.list.filter((r) => r.room.kind !== "direct");
  const directs = rooms.list.filter((r) => r.room.kind === "direct");
  const currentId = pathname.startsWith("/rooms/") ? Number(pathname.split("/")[2]) : null;

  async function signOut() {
    setSigningOut(true);
    await chat.signOut();
  }

  return (
    <nav className="sidebar" aria-label="Conversations">
      <header className="sidebar-head">
        <Link href="/" className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          Parley
        </Link>
        <span className="me" title="Signed in as">
          {users.me?.username}
        </span>
      </header>
      <SearchBox />
      <div className="sidebar-actions">
        <Link href="/browse" className="button">
          Browse
        </Link>
        <Link href="/new" className="button">
          New room
        </Link>
        <Link href="/direct" className="button">
          Message
        </Link>
      </div>
      <Invitations />
      <h2 id="rooms-heading">Rooms</h2>
      {channels.length === 0 ? (
        <p className="empty">{rooms.loaded ? "No rooms yet." : "Loading…"}</p>
      ) : (
        <ul className="room-list" aria-labelledby="rooms-heading">
          {channels.map((entry) => (
            <RoomLink key={entry.room.id} entry={entry} users={users} current={entry.room.id === currentId} />
          ))}
        </ul>
      )}
      <h2 id="direct-heading">Direct messages</h2>
      {directs.length === 0 ? (
        <p className="empty">{rooms.loaded ? "No conversations yet." : "Loading…"}</p>
      ) : (
        <ul className="room-list" aria-labelledby="direct-heading">
          {directs.map((entry) => (
            <RoomLink key={entry.room.id} entry={entry} users={users} current={entry.room.id === currentId} />
          ))}
        </ul>
      )}
      <NotificationPermission />
      <footer className="sidebar-foot">
        <BlockedUsers />
        <button type="button" onClick={signOut} disabled={signingOut}>
          {signingOut ? "Signing out…" : "Sign out"}
        </button>
      </footer>
    </nav>
  );
}
