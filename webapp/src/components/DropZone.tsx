"use client";

import { useEffect, useState, type RefObject } from "react";
import { createPortal } from "react-dom";

interface Props {
  /** The composer: files dropped anywhere on its conversation (its parent: the room or the thread panel) go to it. */
  target: RefObject<HTMLElement | null>;
  label: string;
  onFiles(files: File[]): void;
}

function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes("Files") ?? false;
}

/** While files are dragged over the conversation, a zone over it that says where they will go. */
export function DropZone({ target, label, onFiles }: Props) {
  /** The conversation while files are dragged over it (null otherwise). */
  const [over, setOver] = useState<HTMLElement | null>(null);

  useEffect(() => {
    const element = target.current?.parentElement ?? null;
    if (!element) return;
    let depth = 0; // dragenter and dragleave fire for every child crossed
    const enter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      setOver(element);
    };
    const leave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(null);
    };
    const overIt = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // allows the drop
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    };
    const drop = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setOver(null);
      onFiles(Array.from(event.dataTransfer?.files ?? []));
    };
    // A file dropped just beside the zone would otherwise replace the app with the file.
    const guard = (event: DragEvent) => {
      if (carriesFiles(event)) event.preventDefault();
    };
    element.addEventListener("dragenter", enter);
    element.addEventListener("dragleave", leave);
    element.addEventListener("dragover", overIt);
    element.addEventListener("drop", drop);
    window.addEventListener("dragover", guard);
    window.addEventListener("drop", guard);
    return () => {
      element.removeEventListener("dragenter", enter);
      element.removeEventListener("dragleave", leave);
      element.removeEventListener("dragover", overIt);
      element.removeEventListener("drop", drop);
      window.removeEventListener("dragover", guard);
      window.removeEventListener("drop", guard);
    };
  }, [target, onFiles]);

  if (!over) return null;
  return createPortal(
    <div className="drop-zone" data-testid="drop-zone" aria-hidden="true">
      <p>
        <span className="drop-icon">📎</span>
        Drop files to attach them
        <span className="drop-where">{label}</span>
      </p>
    </div>,
    over,
  );
}
