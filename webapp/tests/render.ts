// Mounting React elements into happy-dom for the component tests; each is unmounted after its test.
import { act, type ReactElement } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, beforeAll } from "vitest";

const mounted: (() => void)[] = [];

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
});

afterEach(() => {
  for (const unmount of mounted.splice(0)) unmount();
});

/** Render an element into a fresh container (not in the document); the container. */
export function render(element: ReactElement): HTMLElement {
  const container = document.createElement("div");
  const root = createRoot(container);
  act(() => root.render(element));
  mounted.push(() => act(() => root.unmount()));
  return container;
}
