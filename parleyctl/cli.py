"""The parleyctl command line: the argparse tree, shell completion, and what each outcome exits with.

Exit codes (docs/grpc-api.md, "parleyctl"):
    0 done   1 something unexpected   2 usage: bad arguments, or the service said INVALID_ARGUMENT
    3 not found   4 not allowed: no or bad credentials, or a token without the scope
    5 refused in this state (FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED)
    6 unavailable: the service did not answer in time, or asked to slow down   130 interrupted
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import shtab

from parleyctl import commands
from parleyctl.client import ParleyClient
from parleyctl.config import SETTINGS, ConfigError, load
from parleyctl.output import Printer

OK, UNEXPECTED, USAGE, NOT_FOUND, NOT_ALLOWED, REFUSED, UNAVAILABLE, INTERRUPTED = 0, 1, 2, 3, 4, 5, 6, 130
EXIT_CODES: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: USAGE,
    grpc.StatusCode.OUT_OF_RANGE: USAGE,
    grpc.StatusCode.NOT_FOUND: NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED: NOT_ALLOWED,
    grpc.StatusCode.PERMISSION_DENIED: NOT_ALLOWED,
    grpc.StatusCode.FAILED_PRECONDITION: REFUSED,
    grpc.StatusCode.ALREADY_EXISTS: REFUSED,
    grpc.StatusCode.ABORTED: REFUSED,
    grpc.StatusCode.UNAVAILABLE: UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED: UNAVAILABLE,
}
Handler = Callable[[argparse.Namespace, ParleyClient, Printer], None]


def parser() -> argparse.ArgumentParser:
    """Every subcommand, its arguments and its help."""
    top = argparse.ArgumentParser(
        prog="parleyctl",
        description="Operate a Parley deployment over its gRPC operator APIs (AdminService, ModerationService).",
        epilog="Settings come from the flags, then PARLEYCTL_* variables, then the config file. "
        "Exit codes: 0 done, 2 usage, 3 not found, 4 not allowed, 5 refused in this state, 6 unavailable.",
    )
    shtab.add_argument_to(top, ["--print-completion"], help="print a shell completion script (bash, zsh, tcsh)")
    connection = top.add_argument_group("connection (each also PARLEYCTL_<NAME> or the config file)")
    connection.add_argument(
        "--config", help="TOML file of the settings below (default ~/.config/parleyctl/config.toml)"
    )
    connection.add_argument("--auth-target", help=f"auth_svc host:port (default {SETTINGS['auth_target'][1]})")
    connection.add_argument("--chat-target", help=f"chat_svc host:port (default {SETTINGS['chat_target'][1]})")
    connection.add_argument("--client-id", help="a service client of AUTH_SERVICE_CLIENTS with the admin scopes")
    connection.add_argument("--client-secret", help="its secret (better in PARLEYCTL_CLIENT_SECRET or the file)")
    connection.add_argument("--token", help="instead: an admin user's access token")
    connection.add_argument("--timeout", help="seconds each call may take (default 10)")
    top.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    groups = top.add_subparsers(dest="group", required=True, metavar="COMMAND")

    users = _group(groups, "users", "accounts and their sessions (auth_svc)")
    find = _command(users, "find", commands.users_find)
    find.add_argument("prefix", nargs="?", help="usernames starting with this (default: everyone)")
    find.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    _command(users, "show", commands.users_show).add_argument("user", help="id or username")
    for name, handler in [
        ("disable", commands.users_disable),
        ("enable", commands.users_enable),
        ("reset-password", commands.users_reset_password),
    ]:
        _with_reason(_command(users, name, handler)).add_argument("user", help="id or username")
    end = _with_reason(_command(users, "end-sessions", commands.users_end_sessions))
    end.add_argument("user", help="id or username")
    end.add_argument("--session", help="only this session id (default: all of them)")
    admin = _with_reason(_command(users, "admin", commands.users_admin))
    admin.add_argument("user", help="id or username")
    admin.add_argument("state", choices=["on", "off"], help="grant or take away the admin flag")

    rooms = _group(groups, "rooms", "rooms, their members and their history (chat_svc)")
    find = _command(rooms, "find", commands.rooms_find)
    find.add_argument("prefix", nargs="?", help="names starting with this (default: every room)")
    find.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    members = _command(rooms, "members", commands.rooms_members)
    members.add_argument("room", type=_positive, help="room id")
    members.add_argument("--limit", type=_positive, default=1000, help="at most this many (default 1000)")
    for name, handler in [("archive", commands.rooms_archive), ("restore", commands.rooms_restore)]:
        _with_reason(_command(rooms, name, handler)).add_argument("room", type=_positive, help="room id")
    for name, handler in [("remove-member", commands.rooms_remove_member), ("transfer", commands.rooms_transfer)]:
        command = _with_reason(_command(rooms, name, handler))
        command.add_argument("room", type=_positive, help="room id")
        command.add_argument("user", help="id or username")
    export = _command(rooms, "export", commands.rooms_export)
    export.add_argument("room", type=_positive, help="room id")
    export.add_argument("--after-seq", type=_seq, default=0, help="only messages after this seq")
    export.add_argument("--output", "-o", help="write JSON lines to this file (default: stdout)")
    export.add_argument("--resume", action="store_true", help="carry on after the last message in --output")

    messages = _group(groups, "messages", "messages (chat_svc)")
    take_down = _with_reason(_command(messages, "take-down", commands.messages_take_down))
    take_down.add_argument("room", type=_positive, help="room id")
    take_down.add_argument("seq", type=_positive, help="the message's seq")

    events = _group(groups, "events", "the live event stream (chat_svc)")
    tail = _command(events, "tail", commands.events_tail)
    tail.add_argument("--room", type=_positive, action="append", help="only this room (repeat for more)")
    tail.add_argument("--kind", action="append", help="only this kind, e.g. message_created (repeat for more)")

    audit = _group(groups, "audit", "the audit log of operator writes")
    log = _command(audit, "list", commands.audit_list)
    log.add_argument("--service", choices=["auth", "chat", "all"], default="all", help="whose log (default all)")
    log.add_argument("--actor", help='only this actor, e.g. "user:42" or "service:parleyctl"')
    log.add_argument("--target", help='only this target, e.g. "user:42" or "room:7"')
    log.add_argument("--limit", type=_positive, default=50, help="at most this many (1-500, default 50)")
    return top


def _group(groups: Any, name: str, help_text: str) -> Any:
    group = groups.add_parser(name, help=help_text, description=help_text)
    return group.add_subparsers(dest="command", required=True, metavar="COMMAND")


def _command(group: Any, name: str, handler: Handler) -> argparse.ArgumentParser:
    doc = (handler.__doc__ or "").strip()
    command: argparse.ArgumentParser = group.add_parser(name, help=doc, description=doc)
    command.set_defaults(handler=handler)
    # Also after the command (`parleyctl users find --json`); SUPPRESS keeps the one given before it.
    command.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON lines instead of a table")
    return command


def _with_reason(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    command.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    return command


def _positive(text: str) -> int:
    value = _seq(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _seq(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"out of range: {text}")
    return value


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, connect, run the subcommand; the exit code."""
    args = parser().parse_args(argv)
    out = Printer(args.json)
    flags = {name: getattr(args, name, None) for name in SETTINGS}
    try:
        config = load(flags, args.config)
        credentials = config.credentials()
    except ConfigError as exc:
        out.note(f"parleyctl: {exc}")
        return NOT_ALLOWED if "credentials" in str(exc) else USAGE
    with ParleyClient(config.auth_target, config.chat_target, credentials, config.timeout) as client:
        try:
            args.handler(args, client, out)
        except commands.UsageError as exc:
            out.note(f"parleyctl: {exc}")
            return USAGE
        except commands.NoSuchUser as exc:
            out.note(f"parleyctl: {exc}")
            return NOT_FOUND
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            out.note(f"parleyctl: {code.name.lower()}: {details}")
            return EXIT_CODES.get(code, UNEXPECTED)
        except KeyboardInterrupt:
            return INTERRUPTED
        except BrokenPipeError:  # `parleyctl ... | head`: the reader has what it wanted
            return OK
    return OK


def main() -> None:
    """The `parleyctl` entry point."""
    sys.exit(run())
