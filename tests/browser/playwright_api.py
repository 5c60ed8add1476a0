"""The parts of playwright's API the browser tests use, imported once for every test module.

playwright is a dev dependency: without it a module importing this one is skipped (conftest says
why), except under CI=true, where a missing playwright is an error.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import IN_CI

try:
    from playwright.sync_api import (
        ConsoleMessage as ConsoleMessage,
        Dialog as Dialog,
        FilePayload as FilePayload,
        Locator as Locator,
        Page as Page,
        Response as Response,
        WebSocketRoute as WebSocketRoute,
        expect as expect,
    )
except ImportError:
    if IN_CI:
        raise
    pytest.skip("the Python package playwright is not installed", allow_module_level=True)
