"use client";

import Link from "next/link";
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, type ApiClient } from "@/lib/api";
import { canManageRoom, canRemove, canSetRoles } from "@/lib/permissions";
import { findRoom, roomTitle } from "@/lib/state/rooms";
import { userName } from "@/lib/state/users";
import type { Member } from "@/lib/types";
import { useChat, useStore } from "./ChatContext";
import { findUser } from "./userLookup";

function failure(caught: unknown, fallback: string): string {
  return caught instanceof ApiError ? caught.message : fallback;
}

/** A room's settings and members: what the caller's role allows (docs/conversations.md), read-only otherwise. */
export function RoomSettings({ roomId }: { roomId: number }) {
  const chat = useChat();
  const entry = useStore((s) => findRoom(s.rooms, roomId));
  const users = useStore((s) => s.users);
  const roomsLoaded = useStore((s) => s.rooms.loaded);

  if (!entry) {
    return <main className="panel">{roomsLoaded ? <p>You are not in this room.</p> : <p className="boot">Loading…</p>}</main>;
  }
  const { room, role } = entry;
  const title = roomTitle(room, users);
  return (
    <main className="panel" aria-labelledby="settings-title">
      <header className="panel-head">
        <Link href={`/rooms/${roomId}`} className="back" aria-label={`Back to ${title}`}>
          ‹
        </Link>
        <h1 id="settings-title">{title}: settings</h1>
      </header>
      {canManageRoom(role, room.kind) ? (
        <SettingsForm
          roomId={roomId}
          name={room.name}
          topic={room.topic}
          roomMentions={room.room_mentions ?? false}
          save={(changes) => chat.api.updateRoom(roomId, changes).then((updated) => chat.applyRoom(updated))}
        />
      ) : (
        <p className="field-help">Owners and moderators change the name, topic and @room setting. You are a {role}.</p>
      )}
      {room.kind !== "direct" && <InviteForm roomId={roomId} />}
      <Members roomId={roomId} />
      <p>
        <Link href={`/rooms/${roomId}`}>Back to the conversation</Link>
      </p>
    </main>
  );
}

interface FormProps {
  roomId: number;
  name: string;
  topic: string;
  roomMentions: boolean;
  save: (changes: { name?: string; topic?: string; room_mentions?: boolean }) => Promise<void>;
}

function SettingsForm({ name: savedName, topic: savedTopic, roomMentions: savedMentions, save }: FormProps) {
  const [name, setName] = useState(savedName);
  const [topic, setTopic] = useState(savedTopic);
  const [roomMentions, setRoomMentions] = useState(savedMentions);
  const [status, setStatus] = useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return setStatus({ error: true, text: "Give the room a name." });
    const changes = {
      ...(name.trim() !== savedName ? { name: name.trim() } : {}),
      ...(topic.trim() !== savedTopic ? { topic: topic.trim() } : {}),
      ...(roomMentions !== savedMentions ? { room_mentions: roomMentions } : {}),
    };
    if (Object.keys(changes).length === 0) return setStatus({ error: false, text: "Nothing to change." });
    setBusy(true);
    try {
      await save(changes);
      setStatus({ error: false, text: "Saved." });
    } catch (caught) {
      setStatus({ error: true, text: failure(caught, "Could not save the settings.") });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack-form" onSubmit={submit} noValidate aria-label="Room settings">
      <label htmlFor="settings-name">Name</label>
      <input id="settings-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={80} required />
      <label htmlFor="settings-topic">Topic</label>
      <input id="settings-topic" value={topic} onChange={(e) => setTopic(e.target.value)} maxLength={250} />
      <label className="choice">
        <input type="checkbox" checked={roomMentions} onChange={(e) => setRoomMentions(e.target.checked)} />
        @room notifies everyone in the room
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Saving…" : "Save settings"}
      </button>
      {status && (
        <p className={status.error ? "form-error" : "field-help"} role={status.error ? "alert" : "status"}>
          {status.text}
        </p>
      )}
    </form>
  );
}

/** Every member, page by page (ascending user id). */
async function allMembers(api: ApiClient, roomId: number): Promise<Member[]> {
  const all: Member[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await api.members(roomId, after);
    all.push(...page.members);
    const last = page.members.at(-1);
    if (!page.has_more || !last) return all;
    after = last.user_id;
  }
}

/** Invite someone by username: they get an invitation to accept, and join only if they do. */
function InviteForm({ roomId }: { roomId: number }) {
  const chat = useChat();
  const [username, setUsername] = useState("");
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const wanted = username.trim().toLowerCase();
    setStatus(null);
    setError(null);
    if (!wanted) return setError("Enter a username to invite.");
    setBusy(true);
    const user = await findUser(chat.api, wanted);
    if (typeof user === "string") {
      setBusy(false);
      return setError(user);
    }
    try {
      const sent = await chat.api.invite(roomId, user.id);
      setStatus(sent.already_member ? `${user.username} is a member already.` : `Invitation sent to ${user.username}.`);
      setUsername("");
    } catch (caught) {
      setError(failure(caught, "Could not send the invitation."));
    }
    setBusy(false);
  }

  return (
    <form className="invite-form" onSubmit={submit} aria-labelledby="invite-title">
      <h2 id="invite-title">Invite</h2>
      <label htmlFor="invite-user">Username</label>
      <div className="inline-form">
        <input id="invite-user" value={username} autoComplete="off" onChange={(e) => setUsername(e.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send invitation"}
        </button>
      </div>
      <p className="field-help">They join when they accept.</p>
      {status && <p role="status">{status}</p>}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

/** The members with their roles; the owner changes roles, owners and moderators remove people. */
function Members({ roomId }: { roomId: number }) {
  const chat = useChat();
  const entry = useStore((s) => findRoom(s.rooms, roomId));
  const users = useStore((s) => s.users);
  const blocked = useStore((s) => s.rooms.blocked);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const me = users.me?.id ?? 0;
  const memberCount = entry?.room.member_count;

  const [version, setVersion] = useState(0); // bumped after my own change: load the list again

  useEffect(() => {
    let live = true;
    allMembers(chat.api, roomId).then(
      (all) => {
        if (!live) return;
        chat.ensureUsers(all.map((m) => m.user_id));
        setMembers(all);
      },
      (caught: unknown) => live && setError(failure(caught, "Could not load the members.")),
    );
    return () => {
      live = false;
    };
  }, [chat, roomId, memberCount, entry?.role, version]);

  if (!entry) return null;
  const { room, role } = entry;

  async function act(action: () => Promise<unknown>, fallback: string) {
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(failure(caught, fallback));
    }
    setVersion((v) => v + 1);
  }

  return (
    <section aria-labelledby="members-title" className="members">
      <h2 id="members-title">Members</h2>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {members === null ? (
        <p role="status">Loading members…</p>
      ) : (
        <ul className="member-list">
          {members.map((member) => {
            const name = member.user_id === me ? "You" : userName(users, member.user_id);
            return (
              <li key={member.user_id} className="member" data-testid="member">
                <span className="member-name">{name}</span>
                {canSetRoles(role, room.kind) && member.role !== "owner" ? (
                  <select
                    aria-label={`Role of ${name}`}
                    value={member.role}
                    onChange={(e) =>
                      void act(
                        () => chat.api.setRole(roomId, member.user_id, e.target.value as "moderator" | "member"),
                        "Could not change the role.",
                      )
                    }
                  >
                    <option value="member">member</option>
                    <option value="moderator">moderator</option>
                  </select>
                ) : (
                  <span className="member-role">{member.role}</span>
                )}
                {canRemove(role, room.kind, member.role, member.user_id === me) && (
                  <button
                    type="button"
                    className="link danger"
                    onClick={() => void act(() => chat.api.removeMember(roomId, member.user_id), "Could not remove them.")}
                  >
                    Remove<span className="sr-only"> {name}</span>
                  </button>
                )}
                {member.user_id !== me && (
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      void act(
                        () => chat.setBlocked(member.user_id, !blocked.includes(member.user_id)),
                        "Could not change the block.",
                      )
                    }
                  >
                    {blocked.includes(member.user_id) ? "Unblock" : "Block"}
                    <span className="sr-only"> {name}</span>
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
