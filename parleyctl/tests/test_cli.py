"""parleyctl end to end against a real stack: what it prints, what it changes, what it exits with."""

from __future__ import annotations

import select
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import orjson
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
        "created_at": account["user"]["created_at"],
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


def _room_with_messages(stack: Stack, count: int) -> tuple[int, str]:
    """A public room of a new user with `count` messages sent over REST; (room id, the owner's token)."""
    _, token = stack.register(f"owner{uuid.uuid4().hex[:4]}")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=10) as api:
        room = int(api.post("/rooms", json={"kind": "public", "name": f"ctl-{uuid.uuid4().hex[:6]}"}).json()["id"])
        for n in range(count):
            sent = api.post(f"/rooms/{room}/messages", json={"client_msg_id": f"m{n}", "body": f"message {n}"})
            assert sent.status_code == 201, sent.text
    return room, token


def test_rooms_find_and_members_show_the_room(stack: Stack, ctl: Ctl) -> None:
    """`rooms find --json` lists the room with its counts; `rooms members` its owner."""
    room, _ = _room_with_messages(stack, 2)
    found = [r for r in ctl("rooms", "find", "ctl-", "--json", "--limit", "500").json() if r["room"]["id"] == str(room)]
    assert [(r["room"]["member_count"], r["room"]["last_seq"]) for r in found] == [(1, "2")]
    members = ctl("rooms", "members", str(room))
    assert members.code == OK and members.out.splitlines()[1].split()[1] == "owner"


def test_an_export_to_a_file_resumes_after_its_last_line(stack: Stack, ctl: Ctl, tmp_path: Path) -> None:
    """`rooms export -o FILE` writes every message in seq order; cut short, --resume completes it without repeats."""
    room, _ = _room_with_messages(stack, 5)
    out = tmp_path / "room.jsonl"
    assert ctl("rooms", "export", str(room), "-o", str(out)).code == OK
    whole = out.read_text().splitlines()
    assert [orjson.loads(line)["seq"] for line in whole] == ["1", "2", "3", "4", "5"]
    out.write_text("\n".join(whole[:2]) + "\n" + whole[2][:10])  # interrupted in the middle of the third line
    resumed = ctl("rooms", "export", str(room), "-o", str(out), "--resume")
    assert resumed.code == OK, resumed.err
    assert out.read_text().splitlines() == whole


def test_a_taken_down_message_is_a_tombstone_in_the_export(stack: Stack, ctl: Ctl) -> None:
    """`messages take-down ROOM SEQ --reason`: the export shows it taken down, without its body."""
    room, _ = _room_with_messages(stack, 2)
    assert ctl("messages", "take-down", str(room), "2", "--reason", "doxxing").code == OK
    exported = ctl("rooms", "export", str(room)).json()
    assert [(m["seq"], m["taken_down"], m["body"]) for m in exported] == [("1", False, "message 0"), ("2", True, "")]


def test_an_archived_room_refuses_sends_until_restored(stack: Stack, ctl: Ctl) -> None:
    """`rooms archive`: a send answers 409; `rooms restore`: sends work again; both are in the chat audit log."""
    room, token = _room_with_messages(stack, 0)
    assert ctl("rooms", "archive", str(room), "--reason", "project over").code == OK
    headers = {"Authorization": f"Bearer {token}"}
    send = {"client_msg_id": "late", "body": "anyone?"}
    assert (
        httpx.post(f"{stack.api_url}/rooms/{room}/messages", json=send, headers=headers, timeout=10).status_code == 409
    )
    assert ctl("rooms", "restore", str(room), "--reason", "not over").code == OK
    assert (
        httpx.post(f"{stack.api_url}/rooms/{room}/messages", json=send, headers=headers, timeout=10).status_code == 201
    )
    log = ctl("audit", "list", "--service", "chat", "--target", f"room:{room}", "--json").json()
    assert [e["action"] for e in log] == ["restore_room", "archive_room"]


def test_an_unknown_room_exits_3(ctl: Ctl) -> None:
    """Archiving a room that does not exist: NOT_FOUND, exit 3."""
    done = ctl("rooms", "archive", str(2**63 - 1), "--reason", "gone")
    assert done.code == NOT_FOUND and "not_found" in done.err


def test_events_tail_prints_live_events_of_the_kinds_asked_for(stack: Stack) -> None:
    """`events tail --room R --kind message_created --json` prints a message sent after it started, as it comes."""
    room, token = _room_with_messages(stack, 0)
    secret = OPERATORS["operator"]["secret"]
    env = {
        "PARLEYCTL_AUTH_TARGET": stack.auth_address,
        "PARLEYCTL_CHAT_TARGET": stack.chat_address,
        "PARLEYCTL_CLIENT_ID": "operator",
        "PARLEYCTL_CLIENT_SECRET": secret,
        "HOME": "/nonexistent",
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "parleyctl", "events", "tail", "--room", str(room), "--kind", "message_created"]
    with subprocess.Popen([*command, "--json"], env=env, stdout=subprocess.PIPE, text=True) as tail:
        assert tail.stdout is not None
        try:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=stack.api_url, headers=headers, timeout=10) as api:
                for n in range(50):  # until the tail has subscribed: the first send it prints ends the loop
                    api.post(f"/rooms/{room}/messages", json={"client_msg_id": f"t{n}", "body": f"tail {n}"})
                    ready, _, _ = select.select([tail.stdout], [], [], 0.2)
                    if ready:
                        break
            event = orjson.loads(tail.stdout.readline())
            assert event["room_id"] == str(room) and "message_created" in event
        finally:
            tail.terminate()
