// Messages grouped as a conversation view shows them: by day, then runs by the same author.

import { dayKey } from "./format";

export interface Groupable {
  key: string;
  senderId: number;
  createdAt: string;
}

export interface AuthorRun<T extends Groupable> {
  key: string;
  senderId: number;
  items: T[];
}

export interface DayGroup<T extends Groupable> {
  day: string;
  firstAt: string;
  runs: AuthorRun<T>[];
}

/** A new run starts on another author, another day, or after this many minutes of silence. */
const RUN_BREAK_MS = 5 * 60_000;

export function groupMessages<T extends Groupable>(items: readonly T[]): DayGroup<T>[] {
  const days: DayGroup<T>[] = [];
  for (const item of items) {
    const day = dayKey(item.createdAt);
    let group = days.at(-1);
    if (!group || group.day !== day) {
      group = { day, firstAt: item.createdAt, runs: [] };
      days.push(group);
    }
    const run = group.runs.at(-1);
    const last = run?.items.at(-1);
    const quiet = last ? Date.parse(item.createdAt) - Date.parse(last.createdAt) > RUN_BREAK_MS : true;
    if (run && run.senderId === item.senderId && !quiet) {
      run.items.push(item);
    } else {
      group.runs.push({ key: item.key, senderId: item.senderId, items: [item] });
    }
  }
  return days;
}
