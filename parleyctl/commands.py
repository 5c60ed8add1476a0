"""One function per parleyctl subcommand: arguments in, typed stub calls, records printed.

Each takes the parsed arguments, a ParleyClient and a Printer, and returns nothing; a refusal of the
service is a grpc.RpcError that cli.py turns into a message and an exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from parley.audit.v1 import audit_pb2
from parley.auth.v1 import admin_pb2
from parley.chat.v1 import chat_pb2, moderation_pb2
from parleyctl.client import ParleyClient
from parleyctl.output import Printer, as_dict

PAGE = 200


class UsageError(Exception):
    """The arguments do not go together, or a file is not what it should be; exit code 2."""


class NoSuchUser(Exception):
    """A username that names nobody; exit code 3, as NOT_FOUND from a service."""


def when(stamp: Timestamp, present: bool = True) -> str:
    """A timestamp as ISO 8601 UTC to the second, "-" when unset."""
    if not present or (stamp.seconds == 0 and stamp.nanos == 0):
        return "-"
    return stamp.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")


# -- users ----------------------------------------------------------------------------------------


def user_id(client: ParleyClient, given: str) -> int:
    """The id of a user named by id or by username (exact, any case)."""
    if given.isdigit():
        return int(given)
    name = given.removeprefix("@").strip().lower()
    found = client.call(client.admin.FindUsers, admin_pb2.FindUsersRequest(username_prefix=name, page_size=200))
    for account in found.accounts:
        if account.user.username == name:
            return int(account.user.id)
    raise NoSuchUser(f"no user named {name!r}")


ACCOUNT_COLUMNS = [
    ("ID", lambda a: a.user.id),
    ("USERNAME", lambda a: a.user.username),
    ("DISPLAY NAME", lambda a: a.user.display_name),
    ("STATE", lambda a: "disabled" if a.disabled else ("reset" if a.password_reset else "active")),
    ("ADMIN", lambda a: "yes" if a.admin else "no"),
    ("SESSIONS", lambda a: a.active_sessions),
    ("LAST SEEN", lambda a: when(a.last_seen_at)),
]


def users_find(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Users by username prefix (or every user), ascending by id, up to --limit."""
    request = admin_pb2.FindUsersRequest(username_prefix=args.prefix or "")
    accounts = _pages(client, client.admin.FindUsers, request, "accounts", args.limit)
    out.records(accounts, ACCOUNT_COLUMNS)


def users_show(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """One account and its sessions."""
    reply = client.call(client.admin.GetAccount, admin_pb2.GetAccountRequest(user_id=user_id(client, args.user)))
    if out.json:
        out.line(orjson.dumps(as_dict(reply)).decode())
        return
    out.one(reply.account, [(header.lower(), cell) for header, cell in ACCOUNT_COLUMNS])
    out.line("")
    out.records(
        reply.sessions,
        [
            ("SESSION", lambda s: s.session_id),
            ("SIGNED IN", lambda s: when(s.created_at)),
            ("REFRESHED", lambda s: when(s.refreshed_at, s.HasField("refreshed_at"))),
            ("ENDED", lambda s: when(s.ended_at, s.HasField("ended_at"))),
            ("WHY", lambda s: s.end_reason),
        ],
    )


def users_disable(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Disable an account: no sign-in, sessions ended, live sockets closed."""
    request = admin_pb2.DisableUserRequest(user_id=user_id(client, args.user), reason=args.reason)
    reply = client.call(client.admin.DisableUser, request)
    _done(
        out,
        reply,
        f"disabled user {reply.account.user.id} ({reply.account.user.username}); "
        f"{reply.sessions_ended} session(s) ended",
    )


def users_enable(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Enable a disabled account."""
    request = admin_pb2.EnableUserRequest(user_id=user_id(client, args.user), reason=args.reason)
    reply = client.call(client.admin.EnableUser, request)
    _done(out, reply, f"enabled user {reply.account.user.id} ({reply.account.user.username})")


def users_end_sessions(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """End one session of a user (--session) or all of them."""
    request = admin_pb2.EndSessionsRequest(
        user_id=user_id(client, args.user), session_id=args.session or "", reason=args.reason
    )
    reply = client.call(client.admin.EndSessions, request)
    _done(out, reply, f"{reply.sessions_ended} session(s) ended")


def users_reset_password(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Give a user a temporary password, to be replaced at their next sign-in."""
    request = admin_pb2.ResetPasswordRequest(user_id=user_id(client, args.user), reason=args.reason)
    reply = client.call(client.admin.ResetPassword, request)
    _done(
        out,
        reply,
        f"temporary password: {reply.temporary_password}\n"
        f"(shown once; give it to the user by a channel you trust; {reply.sessions_ended} session(s) ended)",
    )


def users_admin(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Grant (on) or take away (off) the server-wide admin flag."""
    request = admin_pb2.SetAdminRequest(
        user_id=user_id(client, args.user), admin=args.state == "on", reason=args.reason
    )
    reply = client.call(client.admin.SetAdmin, request)
    state = "an admin now" if reply.account.admin else "no longer an admin"
    _done(out, reply, f"user {reply.account.user.id} ({reply.account.user.username}) is {state}")


# -- rooms ----------------------------------------------------------------------------------------

ROOM_COLUMNS = [
    ("ID", lambda r: r.room.id),
    ("KIND", lambda r: chat_pb2.RoomKind.Name(r.room.kind).removeprefix("ROOM_KIND_").lower()),
    ("NAME", lambda r: r.room.name or "-"),
    ("MEMBERS", lambda r: r.room.member_count),
    ("MESSAGES", lambda r: r.room.last_seq),
    ("LAST MESSAGE", lambda r: when(r.room.last_message_at, r.room.HasField("last_message_at"))),
    ("OWNER", lambda r: r.owner_id or "-"),
    ("ARCHIVED", lambda r: when(r.archived_at, r.HasField("archived_at"))),
]


def rooms_find(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Rooms by name prefix (or every room), ascending by id, up to --limit."""
    request = moderation_pb2.FindRoomsRequest(name_prefix=args.prefix or "")
    rooms = _pages(client, client.moderation.FindRooms, request, "rooms", args.limit)
    out.records(rooms, ROOM_COLUMNS)


def rooms_members(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """A room's members and their roles."""
    request = moderation_pb2.ListRoomMembersRequest(room_id=args.room)
    members = _pages(client, client.moderation.ListRoomMembers, request, "members", args.limit, page_max=1000)
    out.records(
        members,
        [
            ("USER", lambda m: m.user_id),
            ("ROLE", lambda m: chat_pb2.MemberRole.Name(m.role).removeprefix("MEMBER_ROLE_").lower()),
            ("JOINED", lambda m: when(m.joined_at)),
        ],
    )


def rooms_archive(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Make a room read-only and hide it from browsing."""
    reply = client.call(
        client.moderation.ArchiveRoom, moderation_pb2.ArchiveRoomRequest(room_id=args.room, reason=args.reason)
    )
    _done(out, reply, f"archived room {reply.room.room.id}")


def rooms_restore(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Restore an archived room."""
    reply = client.call(
        client.moderation.RestoreRoom, moderation_pb2.RestoreRoomRequest(room_id=args.room, reason=args.reason)
    )
    _done(out, reply, f"restored room {reply.room.room.id}")


def rooms_remove_member(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Remove a member from a room."""
    request = moderation_pb2.RemoveRoomMemberRequest(
        room_id=args.room, user_id=user_id(client, args.user), reason=args.reason
    )
    reply = client.call(client.moderation.RemoveRoomMember, request)
    _done(out, reply, f"removed user {request.user_id} from room {args.room}")


def rooms_transfer(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Make a member the room's owner."""
    request = moderation_pb2.TransferOwnershipRequest(
        room_id=args.room, user_id=user_id(client, args.user), reason=args.reason
    )
    reply = client.call(client.moderation.TransferOwnership, request)
    _done(out, reply, f"room {args.room} is owned by user {reply.room.owner_id} now")


def rooms_export(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """A room's history as JSON lines, to a file or stdout; --resume carries on after the file's last line."""
    after = args.after_seq
    target: Path | None = Path(args.output) if args.output else None
    if args.resume:
        if target is None:
            raise UsageError("--resume needs --output (the file to carry on)")
        after = max(after, _last_seq(target))
    count = 0
    with target.open("a" if args.resume else "w") if target else contextlib.nullcontext(sys.stdout) as sink:
        stream = client.stream(
            client.moderation.ExportRoom, moderation_pb2.ExportRoomRequest(room_id=args.room, after_seq=after)
        )
        for reply in stream:
            sink.write(orjson.dumps(as_dict(reply.message)).decode() + "\n")
            count += 1
    if target is not None:
        out.note(f"exported {count} message(s) of room {args.room} after seq {after} to {target}")


def messages_take_down(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Take down a message: a tombstone for every member, "removed by a moderator"."""
    request = moderation_pb2.TakeDownMessageRequest(room_id=args.room, seq=args.seq, reason=args.reason)
    reply = client.call(client.moderation.TakeDownMessage, request)
    _done(out, reply, f"took down message {args.seq} of room {args.room}")


def events_tail(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """Print live events as they happen, until interrupted."""
    request = moderation_pb2.TailEventsRequest(room_ids=args.room or [], kinds=args.kind or [])
    for reply in client.stream(client.moderation.TailEvents, request):
        for event in reply.events:
            if out.json:
                out.line(orjson.dumps(as_dict(event)).decode())
            else:
                kind = event.WhichOneof("kind") or "?"
                out.line(f"room {event.room_id}  {kind}  {_describe(getattr(event, kind))}")


# -- audit ----------------------------------------------------------------------------------------


def audit_list(args: argparse.Namespace, client: ParleyClient, out: Printer) -> None:
    """The audit log of both services (or one), newest first."""
    request = audit_pb2.ListAuditLogRequest(page_size=args.limit, actor=args.actor or "", target=args.target or "")
    entries: list[tuple[str, audit_pb2.AuditEntry]] = []
    if args.service in ("auth", "all"):
        entries += [("auth", e) for e in client.call(client.admin.ListAuditLog, request).entries]
    if args.service in ("chat", "all"):
        entries += [("chat", e) for e in client.call(client.moderation.ListAuditLog, request).entries]
    entries.sort(key=lambda pair: (pair[1].at.seconds, pair[1].at.nanos), reverse=True)
    entries = entries[: args.limit]
    if out.json:
        for service, entry in entries:
            out.line(orjson.dumps({"service": service, **as_dict(entry)}).decode())
        return
    out.table(
        ["AT", "SERVICE", "ACTOR", "ACTION", "TARGET", "REASON"],
        [[when(e.at), service, e.actor, e.action, e.target, e.reason] for service, e in entries],
    )


# -- helpers --------------------------------------------------------------------------------------


def _pages(client: ParleyClient, method: Any, request: Any, field: str, limit: int, page_max: int = PAGE) -> list[Any]:
    """The items of a paged call, page after page, up to `limit` (request: the first page's, changed in place)."""
    items: list[Any] = []
    while len(items) < limit:
        request.page_size = min(limit - len(items), page_max)
        page = client.call(method, request)
        items += list(getattr(page, field))
        request.page_token = page.next_page_token
        if not request.page_token:
            break
    return items


def _done(out: Printer, reply: Any, text: str) -> None:
    if out.json:
        out.line(orjson.dumps(as_dict(reply)).decode())
    else:
        out.line(text)


def _describe(part: Any) -> str:
    """A short line for an event's payload."""
    fields = {name: getattr(part, name) for name in ("seq", "user_id", "sender_id", "name") if hasattr(part, name)}
    return " ".join(f"{k}={v}" for k, v in fields.items() if v) or type(part).__name__


def _last_seq(path: Path) -> int:
    """The seq of an export file's last line (0 when empty or missing); a torn last line is cut off first."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]  # an export cut short mid-line ends without its newline
    if len(whole) != len(data):
        with path.open("r+b") as file:
            file.truncate(len(whole))
    lines = whole.splitlines()
    if not lines:
        return 0
    try:
        return int(orjson.loads(lines[-1])["seq"])
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        raise UsageError(f"{path} is not an export of parleyctl (last line: {lines[-1][:60]!r})") from None
