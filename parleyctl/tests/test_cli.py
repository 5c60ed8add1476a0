"""parleyctl end to end against a real stack: what it prints, what it changes, what it exits with."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from parleyctl.cli import NOT_ALLOWED, NOT_FOUND, OK, USAGE
from parleyctl.tests.conftest import Ctl
from tests.support.stack import OPERATORS, PASSWORD, Stack

pytestmark = pytest.mark.mysql


def _user(stack: Stack, prefix: str = "ctl") -> tuple[int, str]:
    user, _ = stack.register(f"{prefix}{uuid.uuid4().hex[:4]}")
    return int(user["id"]), str(user["username"])


def _login(stack: Stack, name: str, password: str = PASSWORD, **more: str) -> int:
    body = {"username": name, "password": password, **more}
    return httpx.post(f"{stack.api_url}/auth/login", json=body, timeout=10).status_code


def test_users_find_prints_a_table_and_json_lines(stack: Stack, ctl: Ctl) -> None:
    """`users find PREFIX` shows the user in a table; with --json, one object per account with proto field names."""
    user_id, name = _user(stack, "finder")
    table = ctl("users", "find", name)
    assert table.code == OK, table.err
    assert table.out.splitlines()[0].split()[:3] == ["ID", "USERNAME", "DISPLAY"]
    assert [str(user_id), name] in [row.split()[:2] for row in table.out.splitlines()[1:]]
    found = ctl("users", "find", name, "--json")
    assert found.code == OK, found.err
    [account] = found.json()
    assert account["user"] == {
        "id": str(user_id),
        "username": name,
        "display_name": name,
        "created_at": account["user"]["created_at"],  # type: ignore[index]
    }
    assert (account["disabled"], account["active_sessions"]) == (False, 1)


def test_disable_by_username_refuses_sign_in_and_shows_in_the_account(stack: Stack, ctl: Ctl) -> None:
    """`users disable NAME --reason`: exit 0, sign-in refused (403), `users show` says disabled, session ended."""
    _, name = _user(stack, "gone")
    done = ctl("users", "disable", name, "--reason", "spam")
    assert (done.code, done.out.strip().endswith("1 session(s) ended")) == (OK, True), done.err
    assert _login(stack, name) == 403
    shown = ctl("users", "show", name)
    assert "state:        disabled" in shown.out and "account disabled" in shown.out


def test_a_reset_password_is_printed_once_and_must_be_replaced(stack: Stack, ctl: Ctl) -> None:
    """`users reset-password`: the printed temporary password signs in only with a new password."""
    _, name = _user(stack, "forgot")
    done = ctl("users", "reset-password", name, "--reason", "asked by phone")
    assert done.code == OK, done.err
    temporary = done.out.split("temporary password: ")[1].split()[0]
    assert _login(stack, name, temporary) == 400
    assert _login(stack, name, temporary, new_password="my own new password") == 200


def test_the_audit_log_lists_the_cli_s_writes(stack: Stack, ctl: Ctl) -> None:
    """`audit list --target user:N --json`: the writes made with parleyctl, newest first, with their reasons."""
    user_id, name = _user(stack, "audit")
    ctl("users", "admin", name, "on", "--reason", "on call")
    ctl("users", "end-sessions", str(user_id), "--reason", "rotate")
    listed = ctl("audit", "list", "--service", "auth", "--target", f"user:{user_id}", "--json")
    assert listed.code == OK, listed.err
    assert [(e["service"], e["actor"], e["action"], e["reason"]) for e in listed.json()] == [
        ("auth", "service:operator", "end_sessions", "rotate"),
        ("auth", "service:operator", "set_admin", "on call"),
    ]


@pytest.mark.parametrize("user", ["999999999", "nobody_here_at_all"])
def test_an_unknown_user_exits_3(ctl: Ctl, user: str) -> None:
    """A user id or name that names nobody: exit 3 and a message on stderr, nothing on stdout."""
    done = ctl("users", "show", user)
    assert (done.code, done.out) == (NOT_FOUND, "")
    assert "no user" in done.err


def test_no_credentials_exit_4_with_what_to_set(stack: Stack) -> None:
    """Without credentials anywhere: exit 4, and the message names the flags."""
    done = Ctl(stack, client=None)("users", "find")
    assert done.code == NOT_ALLOWED
    assert "--client-id" in done.err and "--token" in done.err


def test_a_read_only_client_cannot_write(stack: Stack) -> None:
    """The auditor (admin:read) may find users but disabling one exits 4 (PERMISSION_DENIED) and changes nothing."""
    _, name = _user(stack, "safe")
    auditor = Ctl(stack, client="auditor")
    assert auditor("users", "find", name).code == OK
    denied = auditor("users", "disable", name, "--reason", "try")
    assert denied.code == NOT_ALLOWED and "permission_denied" in denied.err
    assert _login(stack, name) == 200


@pytest.mark.parametrize(
    "args",
    [
        ["users", "disable", "someone"],  # no --reason
        ["rooms", "export", "0"],  # not a room id
        ["rooms", "export", str(2**63)],  # just past int64
        ["users", "frobnicate"],
    ],
    ids=["no reason", "room 0", "past int64", "unknown command"],
)
def test_bad_arguments_exit_2_before_any_call(ctl: Ctl, args: list[str]) -> None:
    """Usage errors exit 2 with argparse's message."""
    done = ctl(*args)
    assert done.code == USAGE and "usage:" in done.err


def test_credentials_come_from_the_config_file(stack: Stack, tmp_path: Path) -> None:
    """--config: targets and a service client's credentials from a TOML file."""
    config = tmp_path / "ctl.toml"
    secret = OPERATORS["operator"]["secret"]
    config.write_text(f'auth_target = "{stack.auth_address}"\nclient_id = "operator"\nclient_secret = "{secret}"\n')
    done = Ctl(stack, client=None)("--config", str(config), "users", "find", "--json")
    assert done.code == OK, done.err


def test_a_config_file_with_an_unknown_setting_exits_2(stack: Stack, tmp_path: Path) -> None:
    """A misspelt setting in the file is named, not ignored."""
    config = tmp_path / "ctl.toml"
    config.write_text('auth_targt = "127.0.0.1:1"\n')
    done = Ctl(stack)("--config", str(config), "users", "find")
    assert done.code == USAGE and "auth_targt" in done.err


def test_the_completion_script_names_the_commands(ctl: Ctl) -> None:
    """--print-completion bash prints a bash completion script that knows the subcommands."""
    done = ctl("--print-completion", "bash")
    assert done.code == OK
    assert "complete" in done.out and "reset-password" in done.out
