// Client-side checks that mirror auth_svc's rules, so people learn what is wrong before sending.

/** auth_svc/passwords.py's rule; also what may follow "@" in a mention (lib/markdown.ts). */
export const USERNAME_RE = /^[a-z0-9_][a-z0-9_.-]{2,31}$/;

/** A message about the username, or null when it looks fine. */
export function usernameProblem(raw: string): string | null {
  const name = raw.trim().toLowerCase();
  if (!name) return "Enter a username.";
  if (name.length < 3) return "A username has at least 3 characters.";
  if (name.length > 32) return "A username has at most 32 characters.";
  if (!USERNAME_RE.test(name)) return "Use a-z, 0-9, '_', '.' or '-', not starting with '.' or '-'.";
  return null;
}

/** A message about a new password, or null when it looks fine. */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < 8) return "A password has at least 8 characters.";
  if (password.length > 128) return "A password has at most 128 characters.";
  if (!password.trim()) return "A password cannot be only spaces.";
  if (password.trim().toLowerCase() === username.trim().toLowerCase()) return "Choose a password that is not your username.";
  return null;
}
