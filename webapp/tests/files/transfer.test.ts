// sendFile over a fake XMLHttpRequest (the edge): headers, progress, and what each failure says.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sendFile } from "@/lib/files/transfer";
import { ApiError } from "@/lib/http";
import { fileOut } from "../fixtures";

class FakeXhr {
  static last: FakeXhr;
  status = 0;
  responseText = "";
  headers: Record<string, string> = {};
  opened = "";
  body: unknown;
  aborted = false;
  upload: { onprogress: ((event: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.opened = `${method} ${url}`;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  answer(status: number, payload: unknown) {
    this.status = status;
    this.responseText = payload === undefined ? "" : JSON.stringify(payload);
    this.onload?.();
  }
}

beforeEach(() => vi.stubGlobal("XMLHttpRequest", FakeXhr));
afterEach(() => vi.unstubAllGlobals());

const start = (body = new Blob(["png"], { type: "image/png" }), signal?: AbortSignal) => {
  const seen: number[] = [];
  const done = sendFile({ url: "http://gw/api/v1/rooms/1/files?name=a.png", token: "t", body, onProgress: (n) => seen.push(n), signal });
  return { done, seen, xhr: FakeXhr.last };
};

const failure = async (done: Promise<unknown>) => {
  const error = await done.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
};

describe("sendFile", () => {
  it("posts the raw bytes with the token and the file's type, reports progress, and gives the stored file", async () => {
    const { done, seen, xhr } = start();
    expect(xhr.opened).toBe("POST http://gw/api/v1/rooms/1/files?name=a.png");
    expect(xhr.headers).toMatchObject({ Authorization: "Bearer t", "Content-Type": "image/png" });
    xhr.upload.onprogress?.({ loaded: 2 });
    xhr.answer(201, { file: fileOut("f1") });
    expect(await done).toEqual(fileOut("f1"));
    expect(seen).toEqual([2]);
  });

  it("claims application/octet-stream for a file of unknown type", () => {
    const { xhr } = start(new Blob(["?"]));
    expect(xhr.headers["Content-Type"]).toBe("application/octet-stream");
  });

  it("shows the server's reason when it gives one", async () => {
    const { done, xhr } = start();
    xhr.answer(415, { error: { code: "file_type_not_allowed", message: "Files of type text/html are not allowed." } });
    expect(await failure(done)).toMatchObject({ status: 415, code: "file_type_not_allowed", message: "Files of type text/html are not allowed." });
  });

  it("says why in words when a 413 or 415 comes without a reason (from a proxy, say)", async () => {
    const big = start();
    big.xhr.answer(413, undefined);
    expect((await failure(big.done)).message).toBe("The file is larger than the server allows.");
    const type = start();
    type.xhr.answer(415, undefined);
    expect((await failure(type.done)).message).toBe("This type of file is not allowed here.");
  });

  it("reports no answer as a network failure", async () => {
    const { done, xhr } = start();
    xhr.onerror?.();
    expect(await failure(done)).toMatchObject({ status: 0, code: "unavailable" });
  });

  it("aborts the request when the signal fires, as code aborted", async () => {
    const cancel = new AbortController();
    const { done, xhr } = start(undefined, cancel.signal);
    cancel.abort();
    expect(xhr.aborted).toBe(true);
    expect(await failure(done)).toMatchObject({ code: "aborted" });
  });
});
