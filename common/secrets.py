"""The rule for shared secrets in settings: long enough, and not a placeholder left in a config."""

from __future__ import annotations

MIN_LENGTH = 16
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "example", "your-secret")


def check_secret(text: str, what: str) -> None:
    """ValueError naming `what` unless text looks like a real secret."""
    lowered = text.lower()
    if len(text) < MIN_LENGTH:
        raise ValueError(f"{what} must be a real secret of {MIN_LENGTH}+ characters")
    if any(word in lowered for word in _PLACEHOLDER_WORDS) or len(set(text)) < 4:
        raise ValueError(f"{what} looks like a placeholder; generate a real secret")
