"""Pydantic models of the REST bodies: what the routes accept and answer, for validation and OpenAPI.

Response models mirror the dicts built by edge_gateway.convert field for field; the routes return
those dicts and FastAPI validates them against these models. Request models check the shape
(types, 64-bit ids, numeric ranges, list sizes, generous caps on text: a 422) and state the
services' rules on text (edge_gateway.rules), which the services enforce with the messages people
see (a 400). Together they are every constraint the server enforces, so that generated clients and
fuzzers agree with it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic.config import JsonDict

from common.limits import REACTION_USERS_SHOWN
from edge_gateway import rules

INT64_MAX = 2**63 - 1  # ids and seqs are int64 in the protos
INT64_FORMAT: JsonDict = {"format": "int64"}


def _no_bool(value: Any) -> Any:
    """JSON true/false is not a number (pydantic's lax int would read it as 1/0); 3.0 still is one."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    return value


NotBool = BeforeValidator(_no_bool)
Id = Annotated[int, Field(gt=0, le=INT64_MAX, description="A positive id", json_schema_extra=INT64_FORMAT), NotBool]
Seq = Annotated[
    int, Field(ge=0, le=INT64_MAX, description="A message seq (0 = none)", json_schema_extra=INT64_FORMAT), NotBool
]
PositiveSeq = Annotated[
    int, Field(gt=0, le=INT64_MAX, description="A message's seq", json_schema_extra=INT64_FORMAT), NotBool
]
Time = Annotated[str, Field(description="ISO 8601 UTC time", json_schema_extra={"format": "date-time"})]
RoomKind = Literal["public", "private", "direct"]
Role = Literal["owner", "moderator", "member"]
NotificationLevel = Literal["all", "mentions", "none"]

MessageBody = Annotated[
    str,
    Field(
        max_length=100_000,
        description=(
            "Not blank; newline and tab are the only control characters allowed; at most CHAT_MAX_MESSAGE_CHARS "
            f"characters ({rules.MESSAGE_CHARS_DEFAULT} unless the deployment sets another limit)"
        ),
        json_schema_extra=rules.MESSAGE_BODY,
    ),
]


FileId = Annotated[
    str,
    Field(
        pattern=f"^[A-Za-z0-9_-]{{{rules.FILE_ID_CHARS}}}$",
        description="A file id from POST /rooms/{room_id}/files",
    ),
]
FileIds = Annotated[
    list[FileId],
    Field(
        max_length=rules.FILES_PER_MESSAGE,
        description=(
            f"Files to attach (0-{rules.FILES_PER_MESSAGE}, each once): the sender's own uploads into this room, "
            'not attached yet (404 unknown, 400 someone else\'s or attached already). With files, body may be ""'
        ),
        json_schema_extra={"uniqueItems": True},
    ),
]


class _Request(BaseModel):
    """A request body: unknown fields are refused, so a misspelt optional field is not silently lost."""

    model_config = ConfigDict(extra="forbid")


# -- errors ----------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description='snake_case gRPC status name, e.g. "not_found"', examples=["not_found"])
    message: str = Field(description="Human-readable reason from the service", examples=["room 9 does not exist"])
    retry_after_ms: int | None = Field(
        None, ge=0, description="429 from a rate limit: retry after this many ms (Retry-After says it in seconds)"
    )


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "Invalid argument or failed precondition",
    401: "Missing, invalid or expired credentials",
    403: "Not allowed",
    404: "No such resource",
    409: "Already exists",
    413: "Too large",
    415: "Unsupported media type",
    422: "Malformed request (bad JSON, wrong types, missing fields)",
    429: "Too many requests",
    500: "Internal error",
    503: "A backend service is unavailable",
    504: "A backend service did not answer in time",
}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the request would be accepted (a rate limit, or a backend away)",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries with the error body for these HTTP statuses (and Retry-After where it comes)."""
    return {
        status: {"model": ErrorResponse, "description": _ERROR_DESCRIPTIONS[status]}
        | ({"headers": _RETRY_AFTER} if status in (429, 503) else {})
        for status in statuses
    }


# A write an archived room refuses (a send, an edit, a reaction, a join, an invitation): 409 room_archived.
ROOM_ARCHIVED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "The room is archived, so read-only (code room_archived)"}
}


# -- users and sessions ----------------------------------------------------------------------------


class User(BaseModel):
    """A person with an account."""

    id: int
    username: str
    display_name: str
    created_at: Time


class Session(BaseModel):
    """The tokens of one signed-in session."""

    access_token: str = Field(description="JWT for `Authorization: Bearer ...`")
    access_token_expires_at: Time
    refresh_token: str = Field(description="Opaque, single use: POST /auth/refresh")
    refresh_token_expires_at: Time
    session_id: str


class SignedIn(BaseModel):
    """A user and a fresh session."""

    user: User
    session: Session


class Users(BaseModel):
    """Users found, ascending id; unknown ids are left out."""

    users: list[User]


class RegisterBody(_Request):
    """A new account."""

    username: str = Field(
        max_length=256,
        description=(
            f"{rules.USERNAME_MIN}-{rules.USERNAME_MAX} characters of a-z, 0-9, '_', '.' or '-', not starting with"
            " '.' or '-', after trimming; stored in lower case"
        ),
        json_schema_extra=rules.USERNAME,
    )
    password: str = Field(
        max_length=1024,
        description="Not only whitespace, and not the username",
        json_schema_extra=rules.PASSWORD,
    )
    display_name: str = Field(
        "",
        max_length=1024,
        description=(
            f"At most {rules.DISPLAY_NAME_MAX} characters after trimming, no control or format characters;"
            " empty: the username"
        ),
        json_schema_extra=rules.DISPLAY_NAME,
    )


class LoginBody(_Request):
    """Credentials."""

    username: str = Field(max_length=256, description="Any case; a wrong one answers 401 like a wrong password")
    password: str = Field(max_length=1024)
    new_password: str = Field(
        "",
        max_length=1024,
        description="After an operator reset the password (400 failed_precondition): the password to set, "
        "with the temporary one in `password`",
    )


class RefreshTokenBody(_Request):
    """A refresh token."""

    refresh_token: str = Field(max_length=4096, json_schema_extra=rules.REFRESH_TOKEN)


# -- rooms -----------------------------------------------------------------------------------------


class Room(BaseModel):
    """A room."""

    id: int
    kind: RoomKind
    name: str
    topic: str
    created_by: int
    created_at: Time
    last_seq: int = Field(description="seq of the newest message, 0 when none")
    last_change: int = Field(description="change number of the newest create, edit or delete")
    member_count: int
    direct_user_ids: list[int] = Field(description="For direct rooms: the two user ids, ascending")
    room_mentions: bool = Field(False, description="Whether @room mentions every member (owners and moderators set it)")
    settings_change: int = Field(
        0, description="Change number of the last change to name, topic, settings or member count (0 when none)"
    )
    last_message_at: Time | None = Field(
        None, description="When its newest message came; null before any (created_at is then its activity)"
    )
    archived_at: Time | None = Field(
        None,
        description="When an operator archived it; null while it is not. An archived room is read-only: "
        "sends, edits, reactions, joins and invitations answer 409 room_archived",
    )


class MyRoom(BaseModel):
    """A room as one of its members sees it."""

    room: Room
    last_read_seq: int
    unread_count: int = Field(description="Messages by others after the read marker, in the main timeline")
    role: Role
    mention_count: int = Field(description="Messages by others after the read marker that mention you or @room")
    notification_level: NotificationLevel = Field(
        description="When you are notified (the room kind's default resolved)"
    )


class MyRooms(BaseModel):
    """A page of the caller's rooms, ascending id (order them by last_message_at to show them)."""

    rooms: list[MyRoom]
    has_more: bool = Field(False, description="Another page follows: pass the last room id as `after`")


class RoomPage(BaseModel):
    """Public channels, ascending id."""

    rooms: list[Room]
    has_more: bool = Field(description="Another page follows: pass the last id as `after`")


class Member(BaseModel):
    """A member of a room."""

    user_id: int
    role: Role
    joined_at: Time
    role_change: int = Field(0, description="Change number of their last role change (0 when none)")


class MemberPage(BaseModel):
    """Members, ascending user id."""

    members: list[Member]
    has_more: bool


class DirectRoom(BaseModel):
    """A direct conversation."""

    room: Room
    created: bool = Field(description="True when this call created it")


class Presence(BaseModel):
    """Who in a room has a live socket on this gateway."""

    room_id: int
    online: list[int] = Field(description="User ids, ascending")


class CreateRoomBody(_Request):
    """A new public channel or private room."""

    kind: Literal["public", "private"]
    name: str = Field(
        max_length=1024,
        description=f"1-{rules.ROOM_NAME_MAX} characters after trimming, no control characters",
        json_schema_extra=rules.ROOM_NAME,
    )
    topic: str = Field(
        "",
        max_length=4096,
        description=f"At most {rules.TOPIC_MAX} characters after trimming, no control characters",
        json_schema_extra=rules.TOPIC,
    )
    member_ids: list[Id] = Field(
        default_factory=list,
        max_length=rules.INVITES_MAX,
        description="Users to invite at once (each gets a pending invitation); each must exist (else 404)",
    )


# -- consent: invitations and blocks ---------------------------------------------------------------


class Invitation(BaseModel):
    """An invitation to a room, pending until the invitee accepts or declines it."""

    room: Room
    user_id: int = Field(description="Who is invited")
    inviter_id: int = Field(description="Who invited them")
    created_at: Time


class InvitationSent(BaseModel):
    """The answer to an invitation: pending, or the user was a member already."""

    invitation: Invitation | None = Field(description="The pending invitation; null when already_member")
    already_member: bool = Field(description="The user is a member already: nothing was sent")


class Invitations(BaseModel):
    """The caller's pending invitations, newest first."""

    invitations: list[Invitation]


class BlockedUser(BaseModel):
    """A user the caller blocked."""

    user_id: int
    blocked_at: Time


class BlockedUsers(BaseModel):
    """The users the caller blocked, most recent first."""

    users: list[BlockedUser]


class UserRef(_Request):
    """Another user."""

    user_id: Id


# -- messages --------------------------------------------------------------------------------------


class ThreadSummary(BaseModel):
    """What a thread's root shows of its replies."""

    reply_count: int = Field(description="Replies that are not deleted")
    last_reply_seq: int = Field(description="seq of the newest reply, deleted or not")
    last_reply_at: Time | None = Field(description="When the newest reply was stored")
    participant_ids: list[int] = Field(description="Up to 5 users who replied, the most recent first")


class Reaction(BaseModel):
    """One emoji's reactions to a message."""

    emoji: str
    count: int = Field(description="How many users reacted with it (at least 1)")
    user_ids: list[int] = Field(description=f"The first {REACTION_USERS_SHOWN} who reacted, in the order they did")
    me: bool = Field(
        description="Whether the caller reacted with it: set in answers to one user (history, react, replay);"
        " false in live `reaction` frames, which name the reacting user instead"
    )


class FileOut(BaseModel):
    """A file uploaded into a room (POST /rooms/{room_id}/files); its bytes: GET /files/{id}."""

    id: str = Field(description=f"Opaque: {rules.FILE_ID_CHARS} URL-safe characters")
    room_id: int
    uploader_id: int
    name: str = Field(description=f"As uploaded, without folders, 1-{rules.FILE_NAME_MAX} characters")
    size: int = Field(description="Bytes")
    content_type: str = Field(description="Sniffed from the bytes (the claimed type only when they agree)")
    sha256: str = Field(description="SHA-256 of the bytes, 64 lowercase hex digits")
    width: int = Field(description="An image's width in pixels (EXIF orientation applied); 0 otherwise")
    height: int = Field(description="An image's height in pixels; 0 otherwise")
    has_thumbnail: bool = Field(description="GET /files/{id}?thumbnail=true gives a small WebP preview")
    created_at: Time


class UploadedFile(BaseModel):
    """The stored upload, not attached yet: pass its id in a send's file_ids."""

    file: FileOut


class Message(BaseModel):
    """A message; a tombstone when deleted (empty body)."""

    room_id: int
    seq: int
    change: int
    sender_id: int
    client_msg_id: str
    body: str
    created_at: Time
    edited_at: Time | None = Field(description="null when never edited")
    deleted: bool
    thread_root_seq: int = Field(description="For a reply: its thread's root seq; 0 in the main timeline")
    also_in_room: bool = Field(description="A reply also shown in the main timeline")
    thread: ThreadSummary | None = Field(description="For a root: its replies' summary; null when it has none")
    deleted_by: int | None = Field(
        description="For a tombstone: who deleted it (the author, or a moderator); null otherwise"
    )
    taken_down: bool = Field(
        False, description="For a tombstone: an operator took it down (deleted_by is null); show it as removed"
    )
    mentioned_user_ids: list[int] = Field(description="Members the body mentions by @username, ascending")
    mentions_room: bool = Field(description="The body says @room and the room allows it")
    # -- reactions --
    reactions: list[Reaction] = Field(
        default_factory=list, description="By emoji, in the order each was first used; empty on tombstones"
    )
    # -- files --
    files: list[FileOut] = Field(default_factory=list, description="Attached files, in order; empty on tombstones")


class MessagePage(BaseModel):
    """History in ascending seq, tombstones included."""

    messages: list[Message]
    has_more: bool = Field(description="More messages lie further in the direction read")


class OneMessage(BaseModel):
    """One message."""

    message: Message


class SentMessage(BaseModel):
    """The stored message."""

    message: Message
    duplicate: bool = Field(description="True when client_msg_id was used before: this is the original")


class ReadMarker(BaseModel):
    """The caller's read marker after the call."""

    last_read_seq: int
    unread_count: int
    mention_count: int = Field(description="Unread messages that mention you or @room")


class TypingNotice(BaseModel):
    """When the typing notice lapses unless repeated."""

    expires_at: Time


class SendMessageBody(_Request):
    """A message to post."""

    client_msg_id: str = Field(
        max_length=1024,
        description=f"1-{rules.CLIENT_MSG_ID_MAX} printable ASCII characters, unique per message; reuse it on retry",
        json_schema_extra=rules.CLIENT_MSG_ID,
    )
    body: MessageBody
    thread_root_seq: Seq = Field(
        0,
        description=(
            "Reply in the thread of this message of the room (a reply's seq joins its root's thread); "
            "0 = the main timeline. A seq the room does not have: 404"
        ),
    )
    also_in_room: StrictBool = Field(False, description="With thread_root_seq: show the reply in the main timeline too")
    file_ids: FileIds = Field(default_factory=list)


class EditMessageBody(_Request):
    """New text for a message."""

    body: MessageBody


class MarkReadBody(_Request):
    """The newest seq read."""

    seq: Seq


# -- threads and mentions: notification levels -----------------------------------------------------


class NotificationLevelBody(_Request):
    """When to be notified of a room's messages, on all the caller's devices."""

    level: Literal["all", "mentions", "none", "default"] = Field(
        description="'default' goes back to the room kind's default (direct: all; others: mentions)"
    )


class NotificationLevelAnswer(BaseModel):
    """The level now in force."""

    level: NotificationLevel


# -- reactions and moderation ----------------------------------------------------------------------


class Reacted(BaseModel):
    """The message after a reaction was added or removed."""

    message: Message = Field(description="With `me` set for the caller")
    changed: bool = Field(description="False when nothing changed (already there, or not there to remove)")


class UpdateRoomBody(_Request):
    """What to change in a room: only the fields given change."""

    name: str | None = Field(
        None,
        max_length=1024,
        description=f"1-{rules.ROOM_NAME_MAX} characters after trimming, no control characters",
        json_schema_extra=rules.ROOM_NAME,
    )
    topic: str | None = Field(
        None,
        max_length=4096,
        description=f"At most {rules.TOPIC_MAX} characters after trimming, no control characters (empty clears it)",
        json_schema_extra=rules.TOPIC,
    )
    room_mentions: StrictBool | None = Field(None, description="Whether @room mentions every member")


class RoleBody(_Request):
    """A member's new role."""

    role: Literal["moderator", "member"]


# -- search ----------------------------------------------------------------------------------------


class SearchHit(BaseModel):
    """A message found, and where the query's words are in its body."""

    message: Message
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) of each word found, in Unicode code points of message.body (JS: Array.from(body)),"
        " in order and not overlapping"
    )


class SearchPage(BaseModel):
    """Hits newest first (created_at, then room and seq); each message once across pages."""

    hits: list[SearchHit]
    next_page_token: str | None = Field(description="Pass as page_token for the next (older) page; null at the end")
