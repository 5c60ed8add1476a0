// Read part of a store in a component: it re-renders only when that part changes (by `isEqual`,
// `Object.is` unless told), not on every dispatch. React's useSyncExternalStore with a memoized
// selector, as use-sync-external-store's with-selector builds it (the one react-redux uses).

import { useSyncExternalStoreWithSelector } from "use-sync-external-store/with-selector";
import type { Store } from "./store";

export function useSelector<S, A, T>(
  store: Store<S, A>,
  selector: (state: S) => T,
  isEqual?: (a: T, b: T) => boolean,
): T {
  return useSyncExternalStoreWithSelector(store.subscribe, store.getState, store.getState, selector, isEqual);
}

/** Equal when both are arrays with the same elements, or objects with the same own values. */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key) => Object.hasOwn(b, key) && Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
