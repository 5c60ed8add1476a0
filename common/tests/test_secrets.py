"""The rule for shared secrets in settings."""

from __future__ import annotations

import pytest

from common.secrets import check_secret


@pytest.mark.parametrize("secret", ["short", "changeme-changeme-1", "aaaaaaaaaaaaaaaaaaaa", "your-secret-goes-here"])
def test_placeholders_and_short_secrets_are_refused(secret: str) -> None:
    """A short, repetitive or placeholder-looking secret raises ValueError naming the setting."""
    with pytest.raises(ValueError, match="GATEWAY_CLIENT_SECRET"):
        check_secret(secret, "GATEWAY_CLIENT_SECRET")


def test_a_random_secret_is_accepted() -> None:
    """A generated secret passes."""
    check_secret("q8Zt3VwY0pLk2RmN5sXc", "GATEWAY_CLIENT_SECRET")
