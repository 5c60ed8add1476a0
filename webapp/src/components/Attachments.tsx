"use client";

import { useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/api";
import { saveAs } from "@/lib/files/fileUrls";
import { fileKind, isPreviewable, KIND_ICONS, previewBox } from "@/lib/files/kinds";
import { fileSize } from "@/lib/format";
import type { FileOut } from "@/lib/types";
import { useChat } from "./ChatContext";
import { useFileUrl } from "./useFileUrl";

/** A message's files: images as previews that open full size, other files as cards to download. */
export function Attachments({ files }: { files: readonly FileOut[] }) {
  if (files.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {files.map((file) => (
        <li key={file.id}>{isPreviewable(file) ? <ImagePreview file={file} /> : <FileCard file={file} />}</li>
      ))}
    </ul>
  );
}

/** The thumbnail (or the image itself when it has none) in a box of the image's proportions, so nothing jumps. */
function ImagePreview({ file }: { file: FileOut }) {
  const shown = useFileUrl(file.id, file.has_thumbnail);
  const [open, setOpen] = useState(false);
  const box = previewBox(file);
  return (
    <>
      <button
        type="button"
        className="attachment-image"
        style={{ width: box.width, aspectRatio: `${box.width} / ${box.height}` }}
        onClick={() => setOpen(true)}
        aria-label={`${file.name}: open full size`}
        aria-haspopup="dialog"
        data-testid="image-preview"
      >
        {shown.status === "ready" ? (
          // eslint-disable-next-line @next/next/no-img-element -- a blob: URL of bytes fetched with the token; next/image cannot load it
          <img src={shown.url} alt={file.name} />
        ) : (
          <span className="attachment-placeholder">{shown.status === "failed" ? "Image unavailable" : "Loading…"}</span>
        )}
      </button>
      {open && <Lightbox file={file} onClose={() => setOpen(false)} />}
    </>
  );
}

/** An image full size in a modal dialog: Esc, the Close button or a click beside it closes it; focus goes back. */
function Lightbox({ file, onClose }: { file: FileOut; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const full = useFileUrl(file.id);
  const titleId = `lightbox-${file.id}`;

  useEffect(() => {
    const element = dialog.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (element && !element.open) element.showModal();
    // No close() here: it would fire `close` (and onClose) after React's StrictMode re-runs this effect;
    // removing the dialog from the page closes it.
    return () => opener?.focus();
  }, []);

  return (
    <dialog
      ref={dialog}
      className="lightbox"
      aria-labelledby={titleId}
      onClose={onClose}
      onClick={(event) => event.target === dialog.current && onClose()}
      data-testid="lightbox"
    >
      <div className="lightbox-head">
        <h2 id={titleId} className="lightbox-title" title={file.name}>
          {file.name}
        </h2>
        <span className="lightbox-meta">
          {fileSize(file.size)}
          {file.width > 0 && file.height > 0 ? ` · ${file.width} × ${file.height}` : ""}
        </span>
        <DownloadButton file={file} />
        <button type="button" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
      <div className="lightbox-body">
        {full.status === "ready" ? (
          // eslint-disable-next-line @next/next/no-img-element -- a blob: URL, as above
          <img src={full.url} alt={file.name} width={file.width || undefined} height={file.height || undefined} />
        ) : (
          <p className="attachment-placeholder" role="status">
            {full.status === "failed" ? "The image could not be loaded." : "Loading…"}
          </p>
        )}
      </div>
    </dialog>
  );
}

/** Another file: an icon by its type, its name and size, and a download button. */
function FileCard({ file }: { file: FileOut }) {
  const kind = KIND_ICONS[fileKind(file.content_type)];
  return (
    <div className="file-card" data-testid="file-card">
      <span className="file-icon" role="img" aria-label={kind.label}>
        {kind.icon}
      </span>
      <span className="file-info">
        <span className="file-name" title={file.name}>
          {file.name}
        </span>
        <span className="file-size">{fileSize(file.size)}</span>
      </span>
      <DownloadButton file={file} />
    </div>
  );
}

/** Saves the file under its name (fetched with the token, like every file). */
function DownloadButton({ file }: { file: FileOut }) {
  const chat = useChat();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    try {
      await saveAs(chat.files, file.id, file.name);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : "The download failed.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" className="download" onClick={() => void download()} disabled={busy} aria-label={`Download ${file.name}`}>
        <span aria-hidden="true">⤓</span> Download
      </button>
      {error && (
        <span className="field-error download-error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
