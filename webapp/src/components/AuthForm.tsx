"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useId, useState, type FormEvent } from "react";
import { ApiError, auth } from "@/lib/api";
import { getSession } from "@/lib/client";
import { tryAgainIn } from "@/lib/rateLimit";
import { passwordProblem, usernameProblem } from "@/lib/validation";
import { ACCOUNT_DISABLED } from "@/lib/ws/socket";

type Mode = "signin" | "signup";

const REASONS: Record<string, string> = {
  expired: "Your session ended. Please sign in again.",
  signedout: "You were signed out.",
  disabled: ACCOUNT_DISABLED,
};

export function AuthForm({ mode }: { mode: Mode }) {
  const router = useRouter();
  const reason = REASONS[useSearchParams().get("reason") ?? ""] ?? null;
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  // After an operator reset the password, sign-in asks for a new one (400 failed_precondition).
  const [mustChange, setMustChange] = useState(false);
  const [newPassword, setNewPassword] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = {
    user: useId(),
    pass: useId(),
    userHelp: useId(),
    passHelp: useId(),
    error: useId(),
    newPass: useId(),
    newPassHelp: useId(),
  };

  useEffect(() => {
    if (getSession().signedIn) router.replace("/");
  }, [router]);

  const userProblem = mode === "signup" ? usernameProblem(username) : username.trim() ? null : "Enter your username.";
  const passProblem =
    mode === "signup" ? passwordProblem(password, username) : password ? null : "Enter your password.";
  const newPassProblem = !mustChange
    ? null
    : newPassword === password
      ? "Choose a password other than the temporary one."
      : passwordProblem(newPassword, username);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    setError(null);
    if (userProblem || passProblem || newPassProblem) return;
    setBusy(true);
    try {
      const name = username.trim().toLowerCase();
      const signedIn =
        mode === "signup"
          ? await auth.register(name, password)
          : await auth.login(name, password, mustChange ? newPassword : undefined);
      getSession().set(signedIn);
      router.replace("/");
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 429 && caught.retryAfterMs !== null) {
        // The sign-in throttle: the button stays disabled for the wait it named.
        setError(`Too many sign-in attempts. ${tryAgainIn(caught.retryAfterMs)}`);
        setTimeout(() => setBusy(false), caught.retryAfterMs);
        return;
      }
      if (mode === "signin" && caught instanceof ApiError && caught.code === "failed_precondition" && !mustChange) {
        setMustChange(true); // the temporary password was right: now the new one
        setTouched(false);
        setBusy(false);
        return;
      }
      setError(caught instanceof ApiError ? caught.message : "Something went wrong. Try again.");
      setBusy(false);
    }
  }

  const title = mode === "signup" ? "Create your account" : "Sign in to Parley";
  return (
    <main className="auth">
      <form className="auth-card" onSubmit={submit} noValidate aria-describedby={error ? ids.error : undefined}>
        <h1>
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          {title}
        </h1>
        {reason && !error && !mustChange && <p className="notice">{reason}</p>}
        {mustChange && !error && (
          <p className="notice" role="status">
            An operator reset your password. Choose a new one to sign in.
          </p>
        )}
        {error && (
          <p id={ids.error} className="form-error" role="alert">
            {error}
          </p>
        )}
        <label htmlFor={ids.user}>Username</label>
        <input
          id={ids.user}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          aria-invalid={touched && !!userProblem}
          aria-describedby={ids.userHelp}
          autoFocus
        />
        <p id={ids.userHelp} className={touched && userProblem ? "field-error" : "field-help"}>
          {touched && userProblem
            ? userProblem
            : mode === "signup"
              ? "3-32 characters: a-z, 0-9, '_', '.' or '-'."
              : "\u00a0"}
        </p>
        <label htmlFor={ids.pass}>Password</label>
        <input
          id={ids.pass}
          name="password"
          type="password"
          autoComplete={mode === "signup" ? "new-password" : "current-password"}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={touched && !!passProblem}
          aria-describedby={ids.passHelp}
        />
        <p id={ids.passHelp} className={touched && passProblem ? "field-error" : "field-help"}>
          {touched && passProblem ? passProblem : mode === "signup" ? "At least 8 characters." : "\u00a0"}
        </p>
        {mustChange && (
          <>
            <label htmlFor={ids.newPass}>New password</label>
            <input
              id={ids.newPass}
              name="new-password"
              type="password"
              autoComplete="new-password"
              value={newPassword}
              onChange={(e) => setNewPassword(e.target.value)}
              aria-invalid={touched && !!newPassProblem}
              aria-describedby={ids.newPassHelp}
              autoFocus
            />
            <p id={ids.newPassHelp} className={touched && newPassProblem ? "field-error" : "field-help"}>
              {touched && newPassProblem ? newPassProblem : "At least 8 characters."}
            </p>
          </>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : mode === "signup" ? "Sign up" : mustChange ? "Set password and sign in" : "Sign in"}
        </button>
        <p className="auth-switch">
          {mode === "signup" ? (
            <>
              Already have an account? <Link href="/login">Sign in</Link>
            </>
          ) : (
            <>
              New here? <Link href="/signup">Create an account</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
