// What the chat's effect modules share: the store, the REST client, the resume cursors and the
// user-name loader. Passed to each one's constructor by ChatController.

import type { ApiClient } from "../api";
import type { Action } from "../state/actions";
import type { ChatState } from "../state/root";
import type { CursorBook } from "../ws/cursors";
import type { UserLoader } from "./users";

export interface ChatContext {
  api: ApiClient;
  state(): ChatState;
  dispatch(action: Action): void;
  cursors: CursorBook;
  users: UserLoader;
}
