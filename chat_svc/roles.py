"""Who may do what in a room: the table of docs/conversations.md ("Roles and room settings"), written once.

Every rule that depends on a member's role asks `require` here; the callers (moderation.py,
messages.py) only find the rows and apply the change.
"""

from __future__ import annotations

from enum import Enum

from chat_svc.domain import MemberRole
from common.errors import PermissionDenied


class Act(Enum):
    """Something only some roles may do; the value is how a refusal names it."""

    UPDATE_ROOM = "change the room's name, topic or settings"
    REMOVE_MEMBER = "remove this member"
    DELETE_OTHERS_MESSAGE = "delete someone else's message"
    SET_ROLE = "change members' roles"


_ANYONE = frozenset(MemberRole)
# act -> actor's role -> the roles of the members (or authors) they may do it to. A role missing
# from an act's row may not do it at all. Reacting, replying, mentioning and one's own notification
# level are every member's, so they are not here.
_MAY: dict[Act, dict[MemberRole, frozenset[MemberRole]]] = {
    Act.UPDATE_ROOM: {MemberRole.OWNER: _ANYONE, MemberRole.MODERATOR: _ANYONE},
    Act.REMOVE_MEMBER: {
        MemberRole.OWNER: frozenset({MemberRole.MODERATOR, MemberRole.MEMBER}),  # anyone but themselves
        MemberRole.MODERATOR: frozenset({MemberRole.MEMBER}),
    },
    Act.DELETE_OTHERS_MESSAGE: {MemberRole.OWNER: _ANYONE, MemberRole.MODERATOR: _ANYONE},
    Act.SET_ROLE: {MemberRole.OWNER: frozenset({MemberRole.MODERATOR, MemberRole.MEMBER})},
}


def may(act: Act, role: int, target_role: int = MemberRole.MEMBER) -> bool:
    """Whether a member with `role` may do `act` to a member (or author) with `target_role`."""
    return MemberRole(target_role) in _MAY[act].get(MemberRole(role), frozenset())


def require(act: Act, role: int, target_role: int = MemberRole.MEMBER) -> None:
    """PermissionDenied unless `may`."""
    if may(act, role, target_role):
        return
    if MemberRole(role) in _MAY[act]:  # allowed the act, not on this target
        name = MemberRole(role).name.lower()
        raise PermissionDenied(f"{'an' if name[0] in 'aeiou' else 'a'} {name} may not {act.value}")
    who = " and ".join(f"the {r.name.lower()}" if r == MemberRole.OWNER else f"{r.name.lower()}s" for r in _MAY[act])
    raise PermissionDenied(f"only {who} may {act.value}")
