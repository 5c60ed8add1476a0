import { Fragment, useMemo, type ReactNode } from "react";
import { bodyTree, type BodyNode } from "@/lib/markdown";

interface Props {
  body: string;
  /** My username: `@me` is highlighted. */
  me: string | null;
  /** The server counted `@room` (the room allows it); otherwise it is plain text. */
  mentionsRoom: boolean;
}

/** A message body with its Markdown subset (lib/markdown.ts), built from React elements: text stays text. */
export function MessageBody({ body, me, mentionsRoom }: Props) {
  const nodes = useMemo(() => bodyTree(body), [body]);
  return <div className="message-body">{render(nodes, me, mentionsRoom)}</div>;
}

function render(nodes: BodyNode[], me: string | null, mentionsRoom: boolean): ReactNode[] {
  return nodes.map((node, i) => {
    switch (node.kind) {
      case "text":
        return <Fragment key={i}>{node.text}</Fragment>;
      case "break":
        return <br key={i} />;
      case "code":
        return <code key={i}>{node.text}</code>;
      case "codeblock":
        return (
          <pre key={i}>
            <code>{node.text}</code>
          </pre>
        );
      case "mention": {
        if (node.name === "room" && !mentionsRoom) return <Fragment key={i}>{node.text}</Fragment>;
        const mine = node.name === "room" || node.name === me;
        return (
          <span key={i} className={mine ? "mention mention-me" : "mention"}>
            {node.text}
          </span>
        );
      }
      case "link":
        return (
          <a key={i} href={node.href} rel="noopener noreferrer nofollow" target="_blank">
            {render(node.children, me, mentionsRoom)}
          </a>
        );
      case "element": {
        const Tag = node.tag;
        return (
          <Tag key={i} start={node.start}>
            {render(node.children, me, mentionsRoom)}
          </Tag>
        );
      }
    }
  });
}
