import { describe, expect, it } from "vitest";
import { fileKind, isPreviewable, messageText, previewBox } from "@/lib/files/kinds";
import { fileSize, sentence } from "@/lib/format";

describe("fileSize", () => {
  it("reads bytes, kilobytes, megabytes and gigabytes", () => {
    expect(fileSize(0)).toBe("0 B");
    expect(fileSize(1023)).toBe("1023 B");
    expect(fileSize(1024)).toBe("1 KB");
    expect(fileSize(1536)).toBe("1.5 KB");
    expect(fileSize(12 * 1024 * 1024 + 300_000)).toBe("12 MB");
    expect(fileSize(25 * 1024 * 1024)).toBe("25 MB");
    expect(fileSize(1.25 * 1024 ** 3)).toBe("1.3 GB");
  });

  it("never says 10.0 and rounds up to the next unit only at 1024", () => {
    expect(fileSize(9.99 * 1024)).toBe("10 KB");
    expect(fileSize(1023 * 1024)).toBe("1023 KB");
  });

  it("says nothing for nonsense", () => {
    expect(fileSize(-1)).toBe("");
    expect(fileSize(Number.NaN)).toBe("");
  });
});

describe("isPreviewable", () => {
  it("previews the image types browsers show and the gateway serves inline", () => {
    for (const type of ["image/png", "image/jpeg", "image/gif", "image/webp", "IMAGE/PNG"]) {
      expect(isPreviewable({ content_type: type })).toBe(true);
    }
  });

  it("shows every other type as a card, SVG included (it can carry script)", () => {
    for (const type of ["image/svg+xml", "application/pdf", "text/html", "application/octet-stream", ""]) {
      expect(isPreviewable({ content_type: type })).toBe(false);
    }
  });
});

describe("fileKind", () => {
  it("picks an icon family by type", () => {
    expect(fileKind("application/pdf")).toBe("pdf");
    expect(fileKind("text/plain; charset=utf-8")).toBe("text");
    expect(fileKind("application/zip")).toBe("archive");
    expect(fileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).toBe("sheet");
    expect(fileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document")).toBe("document");
    expect(fileKind("audio/mpeg")).toBe("audio");
    expect(fileKind("application/x-unknown")).toBe("file");
  });
});

describe("previewBox", () => {
  it("fits a large image in the box, keeping its proportions", () => {
    expect(previewBox({ width: 1600, height: 1200 })).toEqual({ width: 320, height: 240 });
    expect(previewBox({ width: 1000, height: 2000 })).toEqual({ width: 120, height: 240 });
  });

  it("never enlarges a small image", () => {
    expect(previewBox({ width: 40, height: 30 })).toEqual({ width: 40, height: 30 });
  });

  it("uses the whole box when the size is unknown", () => {
    expect(previewBox({ width: 0, height: 0 })).toEqual({ width: 320, height: 240 });
  });
});

describe("messageText", () => {
  it("is the body, or for files alone, what they are", () => {
    expect(messageText({ body: "hi", files: [{ name: "a.png" }] })).toBe("hi");
    expect(messageText({ body: "", files: [{ name: "a.png" }, { name: "b.pdf" }] })).toBe("sent a.png and b.pdf");
    expect(messageText({ body: "" })).toBe("");
  });
});

describe("sentence", () => {
  it("capitalises a server's message and ends it with a full stop", () => {
    expect(sentence("files of this type (x) cannot be shared here")).toBe("Files of this type (x) cannot be shared here.");
    expect(sentence("Cannot reach the server.")).toBe("Cannot reach the server.");
    expect(sentence("  ")).toBe("");
  });
});
