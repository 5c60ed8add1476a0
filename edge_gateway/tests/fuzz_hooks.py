"""Schemathesis hooks for the contract fuzz run (test_contract_fuzz.py); `schemathesis run` loads this file.

- Real objects: every other schema-valid case addresses the fuzz user's room, its message and another
  user, so that path parameters reach the handlers' work instead of stopping at a 404.
- Rules that no OpenAPI schema can state, because they tie a field to another field or to the caller:
  cases that break them are not generated, or not held against the server. Their own tests check them.
- Reactions: whether a string is one emoji is the emoji library's Unicode data (chat_svc/rules.py), which no
  pattern states; the document gives the length, and a 400 invalid_argument for a path `emoji` that is
  not one emoji is the rule's answer, not a refusal of valid data.
- State refusals: 400 failed_precondition (leave a direct room, invite into one, edit a deleted message)
  answers a well-formed request that the room's present state refuses; it is not a schema-valid request
  rejected as malformed, which is what positive_data_acceptance looks for, so only that one is let pass.
- Search: a page_token is one an earlier answer gave, and since comes before until; cases that break
  either are not generated (test_rest_search.py and chat_svc's search tests check both refusals).
- Stateful links: a room it just created, then an invite of a made-up user id into it, answers 404 for
  the user, not for the room; a send into it naming a made-up thread root or file answers 404 for that
  message or file. Neither is a created resource gone missing.
- Uploads: what a file's bytes must be (a type in the allow-list, sniffed from them; not empty; an
  image Pillow can read) is no schema's to state: the upload route's 400 and 415 are the bytes' answer.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from itertools import count
from typing import Any

import emoji
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import EnsureResourceAvailability, RejectedPositiveData

ROOM_ID = int(os.environ["PARLEY_FUZZ_ROOM_ID"])
SEQ = int(os.environ["PARLEY_FUZZ_SEQ"])
USER_ID = int(os.environ["PARLEY_FUZZ_USER_ID"])
REAL_PATH = {
    "room_id": ROOM_ID,
    "seq": SEQ,
    "user_id": int(os.environ["PARLEY_FUZZ_OTHER_ID"]),
    "username": os.environ["PARLEY_FUZZ_OTHER_NAME"],
}

_offers = count()


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """Every other case whose path parameters are schema-valid gets the real objects' ids instead."""
    path_info = case.meta.components.get(ParameterLocation.PATH) if case.meta is not None else None
    if not case.path_parameters or path_info is None or not path_info.mode.is_positive:
        return case
    if next(_offers) % 2 == 0:
        case.path_parameters = {name: REAL_PATH.get(name, value) for name, value in case.path_parameters.items()}
    return case


def breaks_unstated_rule(case: schemathesis.Case[Any]) -> bool:
    """Whether the case breaks a rule that ties two fields together, or a field to the caller."""
    query = case.query or {}
    body: Any = case.body if isinstance(case.body, dict) else {}
    path = case.operation.path
    if path.endswith("/messages") and "before" in query and "after" in query:
        return True  # `before` and `after` exclude each other: 422
    if path.endswith("/messages") and body.get("also_in_room") is True and not body.get("thread_root_seq"):
        return True  # also_in_room goes with a thread_root_seq: 400
    if path.endswith("/direct") and body.get("user_id") == USER_ID:
        return True  # a direct conversation is with another user: 400
    if path.endswith("/members/{user_id}") and str((case.path_parameters or {}).get("user_id")) == str(USER_ID):
        return True  # you leave a room; you do not remove yourself: 400
    if path.endswith("/rooms/{room_id}/members") and body.get("user_id") == USER_ID:
        return True  # an invitation is for another user: 400
    if path.endswith("/blocks/{user_id}") and str((case.path_parameters or {}).get("user_id")) == str(USER_ID):
        return True  # you block another user, not yourself: 400
    if path.endswith("/search") and query.get("page_token"):
        return True  # a page token is one an earlier answer gave (anything else: 400)
    if path.endswith("/search") and _empty_range(query.get("since"), query.get("until")):
        return True  # since comes before until: 400
    password, username = body.get("password"), body.get("username")
    if path.endswith("/auth/register") and isinstance(password, str) and isinstance(username, str):
        return password.strip().lower() == username.strip().lower()  # the password must not be the username: 400
    return False


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: schemathesis.Case[Any]) -> bool:
    """Generate no case that breaks such a rule."""
    return not breaks_unstated_rule(case)


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: schemathesis.Case[Any], response: schemathesis.Response
) -> bool:
    """Keep every failure but a valid-request rejection that is a state refusal or an unstated rule's answer.

    The stateful phase builds requests from earlier answers (its own id from /users/me into /direct),
    past filter_case, so its cases are judged here too.
    """
    if isinstance(failure, EnsureResourceAvailability):
        return not _something_else_missing(response)  # the new room is there; what the call named is not
    if not isinstance(failure, RejectedPositiveData):
        return True
    if breaks_unstated_rule(case):
        return False
    if case.operation.path.endswith("/files") and response.status_code in (400, 415):
        return False  # the bytes' own rules
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return True
    if response.status_code == 400 and code == "invalid_argument" and _not_one_emoji(case):
        return False
    return not (response.status_code == 400 and code == "failed_precondition")


def _empty_range(since: Any, until: Any) -> bool:
    """Whether both times are given and since is not before until (times the gateway can read)."""
    try:
        start, end = (datetime.fromisoformat(str(t)) for t in (since, until))
        if start.tzinfo is None or end.tzinfo is None:
            start, end = start.replace(tzinfo=start.tzinfo or UTC), end.replace(tzinfo=end.tzinfo or UTC)
        return since is not None and until is not None and start >= end
    except (ValueError, TypeError, OverflowError):
        return False


def _something_else_missing(response: schemathesis.Response) -> bool:
    """A 404 that names a missing user, message or file rather than the room the stateful phase created."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return isinstance(message, str) and (
        message.startswith("no user") or re.match(r"room \d+ has no (message|file) ", message) is not None
    )


def _not_one_emoji(case: schemathesis.Case[Any]) -> bool:
    """A reaction route's case whose `emoji` is not one emoji."""
    value = (case.path_parameters or {}).get("emoji")
    return "/reactions/" in case.operation.path and not (isinstance(value, str) and emoji.is_emoji(value))
