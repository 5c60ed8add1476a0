// The tab's one SessionManager (tokens are per browser profile, shared by its tabs).

import { SessionManager } from "./session";

let instance: SessionManager | null = null;

export function getSession(): SessionManager {
  instance ??= new SessionManager();
  return instance;
}
