// What a file is, for showing it: an image previewed inline, or a card with an icon by its type.

import { listNames } from "../format";
import type { FileOut } from "../types";

/** The types the browser shows inline (the gateway serves these `inline`, every other type `attachment`). */
const PREVIEWABLE: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** Whether a file is shown as an image in the timeline (it needs its size, or at least a known type). */
export function isPreviewable(file: Pick<FileOut, "content_type">): boolean {
  return PREVIEWABLE.has(file.content_type.split(";")[0]!.trim().toLowerCase());
}

export type FileKind = "image" | "pdf" | "text" | "archive" | "audio" | "video" | "document" | "sheet" | "file";

/** A family of types, for a card's icon. */
export function fileKind(contentType: string): FileKind {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type.startsWith("image/")) return "image";
  if (type === "application/pdf") return "pdf";
  if (type.startsWith("audio/")) return "audio";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("text/") || type === "application/json") return "text";
  if (/zip|tar|gzip|x-7z|x-rar|compressed/.test(type)) return "archive";
  if (/spreadsheet|excel|csv/.test(type)) return "sheet";
  if (/word|opendocument\.text|rtf|presentation|powerpoint/.test(type)) return "document";
  return "file";
}

/** The icon of each kind (a character: no icon font to load) and what a screen reader says for it. */
export const KIND_ICONS: Readonly<Record<FileKind, { icon: string; label: string }>> = {
  image: { icon: "🖼", label: "Image" },
  pdf: { icon: "📕", label: "PDF document" },
  text: { icon: "📄", label: "Text file" },
  archive: { icon: "🗜", label: "Archive" },
  audio: { icon: "🎵", label: "Audio file" },
  video: { icon: "🎬", label: "Video file" },
  document: { icon: "📝", label: "Document" },
  sheet: { icon: "📊", label: "Spreadsheet" },
  file: { icon: "📎", label: "File" },
};

/** The box an image preview takes in the timeline: its own proportions, fitted in max × max. */
export function previewBox(
  file: Pick<FileOut, "width" | "height">,
  max = { width: 320, height: 240 },
): { width: number; height: number } {
  if (file.width <= 0 || file.height <= 0) return max; // size unknown: a fixed box, the image fitted inside
  const scale = Math.min(1, max.width / file.width, max.height / file.height);
  return { width: Math.max(1, Math.round(file.width * scale)), height: Math.max(1, Math.round(file.height * scale)) };
}

/** A message as one line of text (a notification, a screen reader's announcement): its body, or what it carries. */
export function messageText(message: { body: string; files?: readonly Pick<FileOut, "name">[] }): string {
  if (message.body || !message.files?.length) return message.body;
  return `sent ${listNames(message.files.map((file) => file.name))}`;
}
