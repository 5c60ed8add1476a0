"""AuthServicer unit tests under grpcio-testing (SQLite, no network)."""

from __future__ import annotations

import time

import grpc
import pytest

from auth_svc.settings import AuthSettings
from auth_svc.tests.conftest import SERVICE_SECRET
from auth_svc.tests.helpers import register
from common.errors import PermissionDenied
from common.tokens import Principal, StaticKeySource, TokenVerifier, auth_metadata, load_public_key
from parley.auth.v1 import auth_pb2 as pb
from tests.support.grpc_testing_adapter import AsyncServicerHarness

# -- Register ---------------------------------------------------------------------------------------


def test_register_returns_user_and_session(harness: AsyncServicerHarness) -> None:
    """Register creates a lower-cased user and signs it in."""
    response = register(harness, "Alice")
    assert response.user.username == "alice"
    assert response.user.display_name == "alice"
    assert response.user.id > 0
    assert response.session.access_token
    assert response.session.refresh_token
    assert response.session.session_id


def test_register_sets_created_at_and_expiries(harness: AsyncServicerHarness) -> None:
    """created_at is now; the access token expires in access_token_ttl_seconds (900 by default)."""
    before = time.time()
    response = register(harness)
    after = time.time()
    assert before - 1 <= response.user.created_at.ToMicroseconds() / 1e6 <= after + 1
    access_expires = response.session.access_token_expires_at.seconds
    assert before + 900 - 1 <= access_expires <= after + 900 + 1


def test_taken_username_is_already_exists(harness: AsyncServicerHarness) -> None:
    """A second account with the same name (any case) is ALREADY_EXISTS."""
    register(harness, "bob")
    _, code, details = harness.invoke_unary("Register", pb.RegisterRequest(username="BOB", password="another pass"))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert "taken" in details


# -- GetUser / BatchGetUsers ------------------------------------------------------------------------


def test_get_user_needs_a_token(harness: AsyncServicerHarness) -> None:
    """GetUser without authorization metadata is UNAUTHENTICATED; with a token it answers."""
    session = register(harness).session
    _, code, _ = harness.invoke_unary("GetUser", pb.GetUserRequest(username="alice"))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    response, code, _ = harness.invoke_unary(
        "GetUser", pb.GetUserRequest(username="ALICE"), metadata=auth_metadata(session.access_token)
    )
    assert code == grpc.StatusCode.OK
    assert response.user.username == "alice"


def test_get_user_by_id(harness: AsyncServicerHarness) -> None:
    """GetUser by user_id answers that user, with display name and created_at."""
    alice = register(harness, "alice", display_name="Alice A.")
    bob = register(harness, "bob").user
    response, code, _ = harness.invoke_unary(
        "GetUser", pb.GetUserRequest(user_id=bob.id), metadata=auth_metadata(alice.session.access_token)
    )
    assert code == grpc.StatusCode.OK
    assert response.user == bob


def test_get_user_by_username_any_case(harness: AsyncServicerHarness) -> None:
    """GetUser by username ignores case and surrounding spaces."""
    alice = register(harness, "alice", display_name="Alice A.")
    response, code, _ = harness.invoke_unary(
        "GetUser", pb.GetUserRequest(username=" ALICE "), metadata=auth_metadata(alice.session.access_token)
    )
    assert code == grpc.StatusCode.OK
    assert response.user == alice.user


@pytest.mark.parametrize("request_", [pb.GetUserRequest(user_id=999), pb.GetUserRequest(username="nobody")])
def test_get_unknown_user_is_not_found(harness: AsyncServicerHarness, request_: pb.GetUserRequest) -> None:
    """GetUser for an id or a username nobody has is NOT_FOUND."""
    token = register(harness).session.access_token
    _, code, details = harness.invoke_unary("GetUser", request_, metadata=auth_metadata(token))
    assert code == grpc.StatusCode.NOT_FOUND
    assert details == "no such user"


def test_get_user_without_a_key_is_invalid_argument(harness: AsyncServicerHarness) -> None:
    """GetUser with neither user_id nor username is INVALID_ARGUMENT."""
    token = register(harness).session.access_token
    _, code, _ = harness.invoke_unary("GetUser", pb.GetUserRequest(), metadata=auth_metadata(token))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def _batch(
    harness: AsyncServicerHarness, token: str, ids: list[int]
) -> tuple[pb.BatchGetUsersResponse, grpc.StatusCode]:
    response, code, _ = harness.invoke_unary(
        "BatchGetUsers", pb.BatchGetUsersRequest(user_ids=ids), metadata=auth_metadata(token)
    )
    return response, code


def test_batch_get_users_ascending_deduped_unknown_dropped(harness: AsyncServicerHarness) -> None:
    """BatchGetUsers answers each known id once, in ascending id order, leaving unknown ids out."""
    users = [register(harness, name).user for name in ("amy", "ben", "cat")]
    token = register(harness, "dan").session.access_token
    ids = [users[2].id, 9999, users[0].id, users[2].id, users[1].id, -1]
    response, code = _batch(harness, token, ids)
    assert code == grpc.StatusCode.OK
    assert list(response.users) == sorted(users, key=lambda u: u.id)


def test_batch_get_users_empty(harness: AsyncServicerHarness) -> None:
    """BatchGetUsers with no ids answers no users."""
    token = register(harness).session.access_token
    response, code = _batch(harness, token, [])
    assert code == grpc.StatusCode.OK
    assert list(response.users) == []


def test_batch_get_users_accepts_500_ids(harness: AsyncServicerHarness) -> None:
    """500 distinct ids are within the limit."""
    registered = register(harness)
    response, code = _batch(harness, registered.session.access_token, list(range(1, 501)))
    assert code == grpc.StatusCode.OK
    assert list(response.users) == [registered.user]


def test_batch_get_users_rejects_more_than_500(harness: AsyncServicerHarness) -> None:
    """501 distinct ids are INVALID_ARGUMENT."""
    token = register(harness).session.access_token
    assert _batch(harness, token, list(range(1, 502)))[1] == grpc.StatusCode.INVALID_ARGUMENT


def test_batch_get_users_by_username_any_case(harness: AsyncServicerHarness) -> None:
    """BatchGetUsers finds users by username in any case, with ids too, each once; unknown names are left out."""
    amy, ben = (register(harness, name).user for name in ("amy", "ben"))
    token = register(harness, "dan").session.access_token
    request = pb.BatchGetUsersRequest(user_ids=[ben.id], usernames=["AMY", "ben", "nobody"])
    response, code, _ = harness.invoke_unary("BatchGetUsers", request, metadata=auth_metadata(token))
    assert code == grpc.StatusCode.OK
    assert list(response.users) == [amy, ben]


def test_batch_get_users_counts_ids_and_usernames_together(harness: AsyncServicerHarness) -> None:
    """500 ids and usernames in all are within the limit; 501 are INVALID_ARGUMENT."""
    token = register(harness).session.access_token
    names = [f"user{i}" for i in range(250)]
    for ids, code in (
        (list(range(1, 251)), grpc.StatusCode.OK),
        (list(range(1, 252)), grpc.StatusCode.INVALID_ARGUMENT),
    ):
        request = pb.BatchGetUsersRequest(user_ids=ids, usernames=names)
        assert harness.invoke_unary("BatchGetUsers", request, metadata=auth_metadata(token))[1] == code


def test_batch_get_users_needs_a_token(harness: AsyncServicerHarness) -> None:
    """BatchGetUsers without authorization metadata is UNAUTHENTICATED."""
    user = register(harness).user
    _, code, _ = harness.invoke_unary("BatchGetUsers", pb.BatchGetUsersRequest(user_ids=[user.id]))
    assert code == grpc.StatusCode.UNAUTHENTICATED


# -- GetPublicKeys ----------------------------------------------------------------------------------


def _verifier(keys: pb.GetPublicKeysResponse) -> TokenVerifier:
    source = StaticKeySource({k.key_id: load_public_key(k.public_key_pem) for k in keys.keys})
    return TokenVerifier(source, keys.issuer, keys.audience)


def test_get_public_keys_lists_the_active_key(harness: AsyncServicerHarness, auth_settings: AuthSettings) -> None:
    """GetPublicKeys needs no token and answers one active EdDSA key with the issuer and audience."""
    response, code, _ = harness.invoke_unary("GetPublicKeys", pb.GetPublicKeysRequest())
    assert code == grpc.StatusCode.OK
    assert [(k.algorithm, k.active) for k in response.keys] == [("EdDSA", True)]
    assert response.keys[0].public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert response.issuer == auth_settings.issuer
    assert response.audience == auth_settings.audience


async def test_public_keys_verify_issued_access_tokens(harness: AsyncServicerHarness) -> None:
    """A verifier built from GetPublicKeys alone accepts a user's access token and names the user."""
    registered = register(harness)
    keys, _, _ = harness.invoke_unary("GetPublicKeys", pb.GetPublicKeysRequest())
    principal = await _verifier(keys).verify(registered.session.access_token)
    assert principal.subject == str(registered.user.id)
    assert principal.user_id == registered.user.id
    assert principal.session_id == registered.session.session_id
    assert principal.username == "alice"
    assert not principal.is_service
    assert principal.expires_at == registered.session.access_token_expires_at.seconds


# -- IssueServiceToken ------------------------------------------------------------------------------


def _service_token(harness: AsyncServicerHarness, client_id: str, secret: str) -> tuple[str, grpc.StatusCode, str]:
    request = pb.IssueServiceTokenRequest(client_id=client_id, client_secret=secret)
    response, code, details = harness.invoke_unary("IssueServiceToken", request)
    return response.access_token if response else "", code, details


async def _service_principal(harness: AsyncServicerHarness) -> Principal:
    token, code, details = _service_token(harness, "edge_gateway", SERVICE_SECRET)
    assert code == grpc.StatusCode.OK, details
    keys, _, _ = harness.invoke_unary("GetPublicKeys", pb.GetPublicKeysRequest())
    return await _verifier(keys).verify(token)


async def test_service_token_speaks_for_the_service(harness: AsyncServicerHarness) -> None:
    """The right client secret gives a token for subject service:<client_id>."""
    principal = await _service_principal(harness)
    assert principal.is_service
    assert principal.subject == "service:edge_gateway"


async def test_service_token_has_no_user_id(harness: AsyncServicerHarness) -> None:
    """Asking a service principal for its user_id is PermissionDenied."""
    principal = await _service_principal(harness)
    with pytest.raises(PermissionDenied):
        _ = principal.user_id


def test_service_token_works_for_get_user(harness: AsyncServicerHarness) -> None:
    """Internal tools authenticate with a service token like any caller."""
    register(harness)
    token, _, _ = _service_token(harness, "edge_gateway", SERVICE_SECRET)
    _, code, _ = harness.invoke_unary("GetUser", pb.GetUserRequest(username="alice"), metadata=auth_metadata(token))
    assert code == grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("edge_gateway", "the-wrong-secret-entirely"), ("edge_gateway", ""), ("intruder", SERVICE_SECRET)],
    ids=["wrong secret", "empty secret", "unknown client"],
)
def test_bad_service_credentials_are_unauthenticated(
    harness: AsyncServicerHarness, client_id: str, secret: str
) -> None:
    """A wrong secret or an unknown client is UNAUTHENTICATED, with one message for both."""
    token, code, details = _service_token(harness, client_id, secret)
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert details == "unknown service client or wrong secret"
    assert token == ""
