"""auth_svc's metrics (docs/observability.md lists them): sign-ins and token refreshes by outcome."""

from __future__ import annotations

from prometheus_client import Counter

SIGN_INS = Counter("parley_auth_sign_ins_total", "Sign-in attempts, by outcome.", ["outcome"])
SIGNED_IN = SIGN_INS.labels("ok")
BAD_CREDENTIALS = SIGN_INS.labels("bad_credentials")  # an unknown user, a wrong password or a malformed name
DISABLED = SIGN_INS.labels("disabled")  # the right password for a disabled account
THROTTLED = SIGN_INS.labels("throttled")  # refused before any password check (auth_svc/throttle.py)

REFRESHES = Counter("parley_auth_refreshes_total", "Refresh token rotations, by outcome.", ["outcome"])
REFRESHED = REFRESHES.labels("ok")
REFRESH_REFUSED = REFRESHES.labels("refused")  # unknown, expired or ended; reuse counts here too
REUSES = Counter(
    "parley_auth_refresh_reuse_total", "Rotated refresh tokens presented again: each revoked its whole session."
)
