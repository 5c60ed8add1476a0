// @vitest-environment happy-dom
import { createElement } from "react";
import { describe, expect, it } from "vitest";
import { ChatContext } from "@/components/ChatContext";
import { MessageBody } from "@/components/MessageBody";
import { MessageItem } from "@/components/MessageItem";
import type { ChatController } from "@/lib/chat/controller";
import { chatReducer, initialChatState } from "@/lib/state/root";
import { createStore } from "@/lib/store";
import type { Message } from "@/lib/types";
import { msg, user } from "./fixtures";
import { render } from "./render";

/** A body rendered for "me" (alice); the `.message-body` wrapper. */
function body(text: string, options: { mentionsRoom?: boolean } = {}): HTMLElement {
  const props = { body: text, me: "alice", mentionsRoom: !!options.mentionsRoom };
  return render(createElement(MessageBody, props)).querySelector(".message-body")!;
}

/** A stored message as MessageItem shows it to alice (user 1); its <li>. */
function item(message: Message, own = false): HTMLElement {
  const store = createStore(chatReducer, initialChatState(user(1, "alice")));
  const chat = { store } as unknown as ChatController; // MessageItem only reads the store until clicked
  const messageItem = createElement(MessageItem, { message, own, deletable: own });
  return render(createElement(ChatContext.Provider, { value: chat }, messageItem)).querySelector("li")!;
}

describe("formatting", () => {
  it("renders **bold** as <strong>", () => {
    expect(body("a **bold** word").querySelector("strong")?.textContent).toBe("bold");
  });

  it("renders *italic* and _italic_ as <em>", () => {
    expect([...body("*one* _two_").querySelectorAll("em")].map((e) => e.textContent)).toEqual(["one", "two"]);
  });

  it("renders ~~strike~~ as <s>", () => {
    expect(body("~~gone~~").querySelector("s")?.textContent).toBe("gone");
  });

  it("renders `code` as <code> with its text untouched", () => {
    expect(body("run `a **b** <i>`").querySelector("code")?.textContent).toBe("a **b** <i>");
  });

  it("renders a fenced block as <pre><code>, keeping its lines and not formatting inside", () => {
    const code = body("```js\nif (a < b) {\n  **x**\n}\n```").querySelector("pre > code");
    expect(code?.textContent).toBe("if (a < b) {\n  **x**\n}");
  });

  it("renders an indented block as <pre><code>", () => {
    expect(body("    indented\n    code").querySelector("pre > code")?.textContent).toBe("indented\ncode");
  });

  it("renders > quote as <blockquote>", () => {
    expect(body("> wise words\n\nreply").querySelector("blockquote")?.textContent).toBe("wise words");
  });

  it("renders - items as <ul><li>", () => {
    expect([...body("- one\n- two").querySelectorAll("ul > li")].map((e) => e.textContent)).toEqual(["one", "two"]);
  });

  it("renders 3. items as <ol> starting at 3", () => {
    const ol = body("3. three\n4. four").querySelector("ol");
    expect([ol?.getAttribute("start"), ol?.querySelectorAll("li").length]).toEqual(["3", 2]);
  });

  it("renders a newline as <br>", () => {
    expect(body("line one\nline two").querySelectorAll("br").length).toBe(1);
  });

  it("links a bare https URL, opening a new tab without referrer or opener", () => {
    const a = body("see https://example.com/a?b=1 now").querySelector("a");
    expect([a?.getAttribute("href"), a?.getAttribute("target"), a?.getAttribute("rel")]).toEqual([
      "https://example.com/a?b=1",
      "_blank",
      "noopener noreferrer nofollow",
    ]);
  });

  it("renders [text](https://...) as a link with that text", () => {
    const a = body("[the docs](https://example.com/docs)").querySelector("a");
    expect([a?.textContent, a?.getAttribute("href")]).toEqual(["the docs", "https://example.com/docs"]);
  });

  it("links an email address with mailto:", () => {
    expect(body("write to bob@example.com").querySelector("a")?.getAttribute("href")).toBe("mailto:bob@example.com");
  });

  it("leaves a relative link as its source text", () => {
    const el = body("[home](/rooms/1)");
    expect([el.querySelector("a"), el.textContent]).toEqual([null, "[home](/rooms/1)"]);
  });

  it("shows # headings, tables and --- as text", () => {
    const el = body("# title\n| a | b |\n|---|---|\n---");
    expect([el.querySelector("h1, table, hr"), el.textContent]).toEqual([null, "# title| a | b ||---|---|---"]);
  });

  it("shows entities as typed", () => {
    expect(body("&amp; &lt;b&gt;").textContent).toBe("&amp; &lt;b&gt;");
  });
});

/** Only these elements may come out of a body, whatever it says. */
const ALLOWED = new Set("DIV P BR STRONG EM S CODE PRE BLOCKQUOTE UL OL LI A SPAN".split(" "));

const HOSTILE = [
  "<script>alert(1)</script>",
  "<img src=x onerror=alert(1)>",
  "[x](javascript:alert(1))",
  "[x](JaVaScRiPt:alert(1))",
  "[x](javascript&colon;alert(1))",
  '<a href="javascript:alert(1)">click</a>',
  "<javascript:alert(1)>",
  "javascript:alert(1)",
  "&lt;script&gt;alert(1)&lt;/script&gt;",
  '"><svg onload=alert(1)>',
  "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "<data:text/html,<script>alert(1)</script>>",
  "[x](vbscript:msgbox(1))",
  "![img](http://x/y.png)",
  "![img](data:image/png;base64,iVBORw0KGgo=)",
  "[x]()",
  '[x](https://example.com "title" onclick=alert(1))',
  "<https://example.com/\" onmouseover=\"alert(1)>",
];

describe("hostile bodies", () => {
  it.each(HOSTILE)("renders %s with nothing executable in the DOM", (hostile) => {
    const el = body(hostile);
    for (const node of el.querySelectorAll("*")) {
      expect(ALLOWED).toContain(node.tagName);
      for (const attr of node.attributes) expect(attr.name).not.toMatch(/^on|^src$|^style$/i);
      const href = node.getAttribute("href");
      if (href !== null) expect(href).toMatch(/^(https?:\/\/|mailto:)/i);
    }
  });

  it("shows raw HTML as its text", () => {
    expect(body("<b onclick=alert(1)>hi</b>").textContent).toBe("<b onclick=alert(1)>hi</b>");
  });
});

describe("mentions", () => {
  it("highlights @me as a mention of me", () => {
    expect(body("hi @alice!").querySelector(".mention.mention-me")?.textContent).toBe("@alice");
  });

  it("recognises @me in any case", () => {
    expect(body("hi @Alice").querySelector(".mention-me")?.textContent).toBe("@Alice");
  });

  it("shows @someone-else as a plain mention", () => {
    const span = body("ask @bob_2").querySelector(".mention");
    expect([span?.textContent, span?.classList.contains("mention-me")]).toEqual(["@bob_2", false]);
  });

  it("leaves a trailing . or - out of the name, as chat_svc does", () => {
    expect(body("thanks @bob.").querySelector(".mention")?.textContent).toBe("@bob");
  });

  it("does not see a mention in an email address", () => {
    expect(body("mail bob@example.com").querySelector(".mention")).toBeNull();
  });

  it("does not see a name too short for a username", () => {
    expect(body("@al is not a user").querySelector(".mention")).toBeNull();
  });

  it("does not see mentions in inline code or code blocks", () => {
    expect(body("`@alice`\n\n```\n@alice\n```").querySelector(".mention")).toBeNull();
  });

  it("highlights @room when the server counted it", () => {
    expect(body("@room lunch?", { mentionsRoom: true }).querySelector(".mention-me")?.textContent).toBe("@room");
  });

  it("shows @room as text when the room does not allow it", () => {
    expect(body("@room lunch?").querySelector(".mention")).toBeNull();
  });

  it("marks someone else's message that mentions me with mentions-me", () => {
    const li = item(msg(1, 1, { sender_id: 2, body: "@alice hi", mentioned_user_ids: [1] }));
    expect(li.classList.contains("mentions-me")).toBe(true);
  });

  it("marks someone else's @room message with mentions-me", () => {
    expect(item(msg(1, 1, { sender_id: 2, body: "@room hi", mentions_room: true })).classList).toContain("mentions-me");
  });

  it("does not mark a message that mentions only others", () => {
    const li = item(msg(1, 1, { sender_id: 2, body: "@bob hi", mentioned_user_ids: [3] }));
    expect(li.classList.contains("mentions-me")).toBe(false);
  });

  it("does not mark my own @room message", () => {
    const li = item(msg(1, 1, { sender_id: 1, body: "@room hi", mentions_room: true }), true);
    expect(li.classList.contains("mentions-me")).toBe(false);
  });

  it("renders the stored body formatted inside the message's .message-body", () => {
    expect(item(msg(1, 1, { body: "**hi**" })).querySelector("div.message-body > p > strong")?.textContent).toBe("hi");
  });
});
