// @vitest-environment happy-dom
// The chips and the attachments as rendered (happy-dom), with the object-URL cache over a fake loader.
import { act, createElement } from "react";
import { describe, expect, it, vi } from "vitest";
import { Attachments } from "@/components/Attachments";
import { ChatContext } from "@/components/ChatContext";
import { UploadTray } from "@/components/UploadTray";
import type { ChatController } from "@/lib/chat/controller";
import { FileUrls } from "@/lib/files/fileUrls";
import type { Upload } from "@/lib/files/uploads";
import { fileOut } from "../fixtures";
import { render } from "../render";

const chip = (status: Upload["status"], extra: Partial<Upload> = {}): Upload => ({
  key: `k-${status}-${extra.name ?? ""}`,
  name: "a.png",
  size: 2048,
  status,
  loaded: 512,
  ...extra,
});

function tray(uploads: Upload[]) {
  const onRemove = vi.fn();
  const onRetry = vi.fn();
  const root = render(createElement(UploadTray, { uploads, onRemove, onRetry }));
  const buttons = [...root.querySelectorAll("button")].map((b) => b.getAttribute("aria-label"));
  return { root, buttons, onRemove, onRetry };
}

describe("UploadTray", () => {
  it("shows an upload's name, size and progress, and offers to cancel it", () => {
    const { root, buttons } = tray([chip("uploading")]);
    expect(root.querySelector(".upload-name")?.textContent).toBe("a.png");
    expect(root.querySelector(".upload-size")?.textContent).toBe("2 KB");
    expect(root.querySelector("progress")?.getAttribute("value")).toBe("25");
    expect(buttons).toEqual(["Cancel upload of a.png"]);
  });

  it("offers Retry for a failed upload only when it may help, and says why it failed", () => {
    const { root, buttons } = tray([
      chip("failed", { name: "net.pdf", error: "Cannot reach the server.", retryable: true }),
      chip("failed", { name: "big.iso", error: "Too large.", retryable: false }),
    ]);
    expect([...root.querySelectorAll("[data-testid=upload-error]")].map((e) => e.textContent)).toEqual([
      "Cannot reach the server.",
      "Too large.",
    ]);
    expect(buttons).toEqual(["Retry net.pdf", "Remove net.pdf", "Remove big.iso"]);
  });

  it("shows nothing without files", () => {
    expect(tray([]).root.innerHTML).toBe("");
  });
});

const PDF = fileOut("doc", { name: "notes.pdf", content_type: "application/pdf", width: 0, height: 0, has_thumbnail: false });

describe("Attachments", () => {
  async function shown(files = [fileOut("img"), PDF]) {
    const loads: string[] = [];
    const urls = new FileUrls(
      async (id, thumbnail) => {
        loads.push(`${id}${thumbnail ? ":thumb" : ""}`);
        return new Blob([id]);
      },
      { create: () => `blob:${loads.length}`, revoke: () => undefined },
    );
    const chat = { files: urls } as unknown as ChatController;
    const root = render(createElement(ChatContext.Provider, { value: chat }, createElement(Attachments, { files })));
    await act(async () => undefined); // the loads resolve
    return { root, loads };
  }

  it("previews an image from its thumbnail, in a box of its proportions, named by its file", async () => {
    const { root, loads } = await shown();
    const preview = root.querySelector<HTMLButtonElement>("[data-testid=image-preview]")!;
    expect(preview.getAttribute("aria-label")).toBe("img.png: open full size");
    expect(preview.style.width).toBe("320px");
    expect(preview.style.aspectRatio).toBe("320 / 240");
    expect(preview.querySelector("img")?.getAttribute("alt")).toBe("img.png");
    expect(loads).toEqual(["img:thumb"]);
  });

  it("shows another file as a card with its type, name, size and a download button", async () => {
    const { root } = await shown();
    const card = root.querySelector("[data-testid=file-card]")!;
    expect(card.querySelector("[role=img]")?.getAttribute("aria-label")).toBe("PDF document");
    expect(card.querySelector(".file-name")?.textContent).toBe("notes.pdf");
    expect(card.querySelector(".file-size")?.textContent).toBe("1.2 KB");
    expect(card.querySelector("button")?.getAttribute("aria-label")).toBe("Download notes.pdf");
  });
});
