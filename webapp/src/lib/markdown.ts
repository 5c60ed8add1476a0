// Message bodies as a safe Markdown subset (docs/conversations.md, "Formatting"). markdown-it
// parses a body into tokens; bodyTree() turns them into a small tree of the few things we show,
// and components/MessageBody.tsx renders that tree as React elements. No HTML string is ever
// built, so a body reaches the DOM only as text nodes inside the few elements a BodyNode becomes.

import MarkdownIt, { type Token } from "markdown-it";
import { USERNAME_RE } from "./validation";

/** Links are shown for these schemes only; anything else (javascript:, data:, relative) is text. */
function isSafeHref(href: string): boolean {
  return /^(https?:\/\/|mailto:)/i.test(href);
}

// "zero" starts with every rule off, so a markdown-it upgrade cannot switch on a new syntax
// behind our back: headings, tables, hr, images, reference definitions, HTML and entities stay
// off ("&lt;" shows as typed, as in any chat box).
const md = new MarkdownIt("zero", { html: false, linkify: true, typographer: false, breaks: true }).enable([
  "code", // indented code blocks
  "fence",
  "blockquote",
  "list",
  "newline",
  "escape",
  "backticks",
  "emphasis",
  "strikethrough",
  "link",
  "autolink",
  "linkify", // both the core and the inline rule of that name
]);
// A disallowed link target leaves its Markdown source as text, so the reader sees what was typed.
md.validateLink = isSafeHref;

/** The elements a body may produce, by markdown-it's tag name. */
const TAGS = ["p", "blockquote", "ul", "ol", "li", "strong", "em", "s"] as const;
type Tag = (typeof TAGS)[number];

export type BodyNode =
  | { kind: "text"; text: string }
  | { kind: "mention"; name: string; text: string }
  | { kind: "break" }
  | { kind: "code"; text: string }
  | { kind: "codeblock"; text: string }
  | { kind: "link"; href: string; children: BodyNode[] }
  | { kind: "element"; tag: Tag; start?: number; children: BodyNode[] };

/** A body as the tree MessageBody renders. */
export function bodyTree(body: string): BodyNode[] {
  return tree(md.parse(body, {}));
}

// markdown-it's stream is flat: an `_open` token (nesting 1) and its `_close` (nesting -1) bracket
// their children. A stack of open containers turns it into a tree.
function tree(tokens: Token[]): BodyNode[] {
  const root: BodyNode[] = [];
  const open: { token: Token; children: BodyNode[] }[] = [];
  const into = () => open.at(-1)?.children ?? root;
  for (const token of tokens) {
    if (token.nesting === 1) {
      open.push({ token, children: [] });
    } else if (token.nesting === -1) {
      const done = open.pop();
      if (done) into().push(...container(done.token, done.children));
    } else {
      const inLink = open.some((o) => o.token.type === "link_open");
      into().push(...leaf(token, inLink));
    }
  }
  return root;
}

function container(token: Token, children: BodyNode[]): BodyNode[] {
  if (token.type === "link_open") {
    const href = String(token.attrGet("href") ?? "");
    return isSafeHref(href) ? [{ kind: "link", href, children }] : children;
  }
  // Paragraphs of a tight list are hidden: their text sits straight in the <li>.
  if (token.hidden || !(TAGS as readonly string[]).includes(token.tag)) return children;
  const start = token.type === "ordered_list_open" ? Number(token.attrGet("start") ?? 1) : undefined;
  return [{ kind: "element", tag: token.tag as Tag, start, children }];
}

function leaf(token: Token, inLink: boolean): BodyNode[] {
  switch (token.type) {
    case "inline":
      return tree(token.children ?? []);
    case "text":
      return inLink ? [{ kind: "text", text: token.content }] : mentions(token.content);
    case "softbreak":
    case "hardbreak":
      return [{ kind: "break" }];
    case "code_inline":
      return [{ kind: "code", text: token.content }];
    case "code_block":
    case "fence":
      return [{ kind: "codeblock", text: token.content.replace(/\n$/, "") }];
    default:
      return token.content ? [{ kind: "text", text: token.content }] : [];
  }
}

// chat_svc/mentions.py's rule, so that what is highlighted is what the server counted: "@" not
// after a letter, a digit, "@" or "."; then name characters, of which a trailing "." or "-" is
// punctuation; what is left must pass the username rule.
/** Where a mention starts: an "@" not after a letter, a digit, "@" or "." (the composer's completion too). */
export const MENTION_AT = String.raw`(?<![\p{L}\p{N}@.])@`;
const MENTION_RE = new RegExp(`${MENTION_AT}([A-Za-z0-9_][A-Za-z0-9_.-]*)`, "gu");

/** A text split into text and `@name` mentions (name in lower case; `room` for @room). */
function mentions(text: string): BodyNode[] {
  const out: BodyNode[] = [];
  let done = 0;
  for (const match of text.matchAll(MENTION_RE)) {
    const name = (match[1] ?? "").replace(/[.-]+$/, "").toLowerCase();
    if (!USERNAME_RE.test(name)) continue;
    const end = match.index + 1 + name.length;
    if (match.index > done) out.push({ kind: "text", text: text.slice(done, match.index) });
    out.push({ kind: "mention", name, text: text.slice(match.index, end) });
    done = end;
  }
  if (done < text.length) out.push({ kind: "text", text: text.slice(done) });
  return out;
}
