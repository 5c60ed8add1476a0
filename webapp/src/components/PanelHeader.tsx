import Link from "next/link";

/** The title row of a panel (with a way back on narrow screens). */
export function PanelHeader({ title, id }: { title: string; id: string }) {
  return (
    <header className="panel-head">
      <Link href="/" className="back" aria-label="Back to conversations">
        ‹
      </Link>
      <h1 id={id}>{title}</h1>
    </header>
  );
}
