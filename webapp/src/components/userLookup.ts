// Finding someone by username, as the forms that invite (CreateRoom) or message (StartDirect) do.

import { ApiError, type ApiClient } from "@/lib/api";
import type { User } from "@/lib/types";

/** The user called `username`, or the sentence to show when there is none or the look-up failed. */
export async function findUser(api: ApiClient, username: string): Promise<User | string> {
  try {
    return await api.userByName(username);
  } catch (caught) {
    if (caught instanceof ApiError && caught.status === 404) return `There is no user called ${username}.`;
    return caught instanceof ApiError ? caught.message : "Could not look that user up.";
  }
}
