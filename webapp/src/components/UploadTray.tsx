"use client";

import { fileSize } from "@/lib/format";
import { progress, type Uploads } from "@/lib/files/uploads";

interface Props {
  uploads: Uploads;
  onRemove(key: string): void;
  onRetry(key: string): void;
}

/** The composer's attached files, one chip each: name, size, progress, and cancel / remove / retry. */
export function UploadTray({ uploads, onRemove, onRetry }: Props) {
  if (uploads.length === 0) return null;
  return (
    <ul className="upload-tray" aria-label="Attached files">
      {uploads.map((upload) => {
        const percent = Math.round(progress(upload) * 100);
        return (
          <li key={upload.key} className={`upload-chip ${upload.status}`} data-testid="upload-chip" data-status={upload.status}>
            {upload.preview && (
              // eslint-disable-next-line @next/next/no-img-element -- a local blob: URL of the picked file
              <img className="upload-thumb" src={upload.preview} alt="" />
            )}
            <span className="upload-name" title={upload.name}>
              {upload.name}
            </span>
            <span className="upload-size">{fileSize(upload.size)}</span>
            {upload.status === "uploading" && (
              <>
                <progress className="upload-progress" max={100} value={percent} aria-label={`Uploading ${upload.name}`}>
                  {percent}%
                </progress>
                <span className="upload-percent" aria-hidden="true">
                  {percent}%
                </span>
              </>
            )}
            {upload.status === "done" && <span className="upload-done">Ready</span>}
            {upload.status === "failed" && (
              <span className="upload-error field-error" data-testid="upload-error">
                {upload.error}
              </span>
            )}
            {upload.status === "failed" && upload.retryable !== false && (
              <button type="button" className="link" onClick={() => onRetry(upload.key)} aria-label={`Retry ${upload.name}`}>
                Retry
              </button>
            )}
            <button
              type="button"
              className="upload-remove"
              onClick={() => onRemove(upload.key)}
              aria-label={upload.status === "uploading" ? `Cancel upload of ${upload.name}` : `Remove ${upload.name}`}
              title={upload.status === "uploading" ? "Cancel upload" : "Remove"}
            >
              ✕
            </button>
          </li>
        );
      })}
    </ul>
  );
}
