"""What an operator's account actions look like to the person in the web app: disabled, or a reset password."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

from common.tokens import auth_metadata
from parley.auth.v1 import admin_pb2, admin_pb2_grpc
from tests.browser.conftest import NewPage, WebStack
from tests.browser.playwright_api import Page, expect
from tests.browser.test_chat_ui import sign_up, unique

pytestmark = [pytest.mark.browser, pytest.mark.mysql]


def _admin(stack: WebStack, method: str, request: object) -> object:
    """One AdminService call as the stack's operator."""
    with grpc.insecure_channel(stack.auth_address) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        return getattr(stub, method)(request, metadata=auth_metadata(stack.service_token("operator")), timeout=10)


def _user_id(stack: WebStack, name: str) -> int:
    found = _admin(stack, "FindUsers", admin_pb2.FindUsersRequest(username_prefix=name))
    return int(found.accounts[0].user.id)  # type: ignore[attr-defined]


def _sign_in(page: Page, name: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_disabled_account_is_sent_to_sign_in_with_why(
    new_page: NewPage, web_stack: WebStack, screenshots: Path
) -> None:
    """Disabled while chatting: the page leaves for the sign-in form, which says the account was disabled."""
    page = new_page()
    name = unique("banned")
    sign_up(page, name)
    _admin(web_stack, "DisableUser", admin_pb2.DisableUserRequest(user_id=_user_id(web_stack, name), reason="spam"))
    expect(page).to_have_url(re.compile(r"/login\?reason=disabled"), timeout=15_000)
    expect(page.get_by_text("Your account has been disabled by an operator.")).to_be_visible()
    page.screenshot(path=screenshots / "account-disabled.png")
    _sign_in(page, name, "correct horse battery")
    expect(page.locator(".form-error")).to_contain_text("this account is disabled")


def test_a_reset_password_asks_for_a_new_one_at_sign_in(
    new_page: NewPage, web_stack: WebStack, screenshots: Path
) -> None:
    """After a reset, the temporary password opens a New password field; with it set, the chat opens."""
    page = new_page()
    name = unique("reset")
    sign_up(page, name)
    page.get_by_role("button", name="Sign out").click()
    reply = _admin(
        web_stack, "ResetPassword", admin_pb2.ResetPasswordRequest(user_id=_user_id(web_stack, name), reason="phone")
    )
    temporary = reply.temporary_password  # type: ignore[attr-defined]
    _sign_in(page, name, temporary)
    expect(page.get_by_role("status")).to_contain_text("An operator reset your password")
    new_password = page.get_by_label("New password")
    expect(new_password).to_be_visible()
    page.screenshot(path=screenshots / "password-reset.png")
    page.set_viewport_size({"width": 375, "height": 740})
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "password-reset-mobile-dark.png")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1200, "height": 800})
    new_password.fill(temporary)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_text("Choose a password other than the temporary one.")).to_be_visible()
    new_password.fill("my very own password")
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
