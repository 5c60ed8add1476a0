"use client";

import { Fragment, useLayoutEffect, useRef } from "react";
import { dayLabel } from "@/lib/format";
import { groupMessages, type Groupable } from "@/lib/grouping";
import type { Message } from "@/lib/types";
import type { PendingSend } from "@/lib/state/outbox";
import { canDelete } from "@/lib/permissions";
import { isArchived } from "@/lib/readOnly";
import { findRoom } from "@/lib/state/rooms";
import { visiblePending } from "@/lib/state/root";
import { findThread } from "@/lib/state/threads";
import { userName } from "@/lib/state/users";
import { shallowEqual, useChat, useStore } from "./ChatContext";
import { MessageItem } from "./MessageItem";
import { PendingItem } from "./PendingItem";

type Entry = Groupable & ({ kind: "message"; message: Message } | { kind: "pending"; pending: PendingSend });

/**
 * A room's main timeline (`rootSeq` 0), or one thread: its root, then its replies. `focusSeq`: a
 * message to scroll to and flash once it is held (a link to it, such as a search hit).
 */
export function MessageList({ roomId, rootSeq = 0, focusSeq = 0 }: { roomId: number; rootSeq?: number; focusSeq?: number }) {
  const chat = useChat();
  const inThread = rootSeq > 0;
  const timeline = useStore((s) => (inThread ? findThread(s.threads, roomId, rootSeq) : s.timelines[roomId]));
  const pending = useStore((s) => visiblePending(s, roomId, rootSeq), shallowEqual);
  const users = useStore((s) => s.users);
  const me = users.me?.id ?? 0;
  const entryOfRoom = useStore((s) => findRoom(s.rooms, roomId));
  const loadOlder = () => (inThread ? chat.loadOlderThread(roomId, rootSeq) : chat.loadOlder(roomId));
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const firstSeq = useRef<number | undefined>(undefined);
  const height = useRef(0);
  const focused = useRef(0);
  const holeAfter = inThread ? null : ((timeline as { holeAfter?: number | null } | undefined)?.holeAfter ?? null);
  const loadingNewer = !inThread && Boolean((timeline as { loadingNewer?: boolean } | undefined)?.loadingNewer);

  const messages = timeline?.messages ?? [];
  const entries: Entry[] = [
    ...messages.map((m): Entry => ({ kind: "message", message: m, key: `m${m.seq}`, senderId: m.sender_id, createdAt: m.created_at })),
    ...pending.map((p): Entry => ({ kind: "pending", pending: p, key: `p${p.clientMsgId}`, senderId: me, createdAt: p.createdAt })),
  ];
  const days = groupMessages(entries);

  // Keep the reader's place: stay at the bottom for new messages, stay put when older ones load.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = messages[0]?.seq;
    if (firstSeq.current !== undefined && first !== undefined && first < firstSeq.current) {
      el.scrollTop += el.scrollHeight - height.current;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    firstSeq.current = first;
    height.current = el.scrollHeight;
  });

  // A message jumped to: centred once it is held (after the place-keeping above), then left to the reader.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !focusSeq || focused.current === focusSeq) return;
    const target = el.querySelector<HTMLElement>(`[data-seq="${focusSeq}"]`);
    if (!target) return;
    focused.current = focusSeq;
    target.scrollIntoView({ block: "center" });
    atBottom.current = false;
    height.current = el.scrollHeight;
  });

  function onScroll() {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    height.current = el.scrollHeight;
    if (el.scrollTop < 120) void loadOlder();
  }

  return (
    <div className="messages" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label={inThread ? "Thread" : "Messages"}>
      <div className="history-edge">
        {!timeline?.loaded ? (
          <p role="status">{inThread ? "Loading the thread…" : "Loading messages…"}</p>
        ) : timeline.hasOlder ? (
          <button type="button" onClick={() => void loadOlder()} disabled={timeline.loadingOlder}>
            {timeline.loadingOlder ? "Loading…" : inThread ? "Load older replies" : "Load older messages"}
          </button>
        ) : inThread ? null : (
          <p>This is the beginning of the conversation.</p>
        )}
        {timeline?.error && (
          <p className="form-error" role="alert">
            {timeline.error}
          </p>
        )}
      </div>
      <ol className="days" data-testid="message-list">
        {days.map((day) => (
          <li key={day.day} className="day">
            <h2 className="day-label">
              <span>{dayLabel(day.firstAt)}</span>
            </h2>
            <ol className="runs">
              {day.runs.map((run) => (
                <li key={run.key} className={`run${run.senderId === me ? " own" : ""}`}>
                  <p className="run-author">
                    {run.senderId === me ? "You" : userName(users, run.senderId)}
                  </p>
                  <ol className="run-items">
                    {run.items.map((entry) =>
                      entry.kind === "message" ? (
                        <Fragment key={entry.key}>
                          <MessageItem
                            message={entry.message}
                            own={entry.senderId === me}
                            deletable={entryOfRoom ? canDelete(entryOfRoom.role, entryOfRoom.room.kind, entry.senderId === me) : false}
                            inThread={inThread}
                            jumpTarget={entry.message.seq === focusSeq}
                            readOnly={entryOfRoom ? isArchived(entryOfRoom.room) : false}
                          />
                          {entry.message.seq === holeAfter && (
                            <li className="history-hole">
                              <button type="button" onClick={() => void chat.loadNewer(roomId)} disabled={loadingNewer}>
                                {loadingNewer ? "Loading…" : "Load newer messages"}
                              </button>
                            </li>
                          )}
                        </Fragment>
                      ) : (
                        <PendingItem key={entry.key} pending={entry.pending} />
                      ),
                    )}
                  </ol>
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
    </div>
  );
}
