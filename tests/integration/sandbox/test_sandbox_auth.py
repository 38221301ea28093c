"""Auth conformance: client-credentials tokens, token checks, identity lookups."""

from __future__ import annotations

import uuid

import globus_sdk
import pytest
from globus_sdk.scopes import AuthScopes, GroupsScopes, TransferScopes
from globus_sdk.testing import get_response_set

pytestmark = pytest.mark.usefixtures("globus_env")


def _login_client(
    sandbox: object, secret: str = "anything"
) -> globus_sdk.ConfidentialAppAuthClient:
    return globus_sdk.ConfidentialAppAuthClient(sandbox.client_id, secret)  # type: ignore[attr-defined]


def test_one_token_per_resource_server_in_other_tokens(sandbox) -> None:
    with _login_client(sandbox) as client:
        tokens = client.oauth2_client_credentials_tokens(
            requested_scopes=[TransferScopes.all, GroupsScopes.all, AuthScopes.openid, "email"]
        )
    by_server = tokens.by_resource_server
    assert set(by_server) == {"transfer.api.globus.org", "groups.api.globus.org", "auth.globus.org"}
    assert by_server["auth.globus.org"]["scope"] == "openid email"
    fixture = get_response_set("auth.oauth2_client_credentials_tokens").lookup("default").json
    assert set(fixture) <= set(tokens.data)


def test_client_identity_is_the_client(sandbox, auth_client) -> None:
    found = auth_client.get_identities(ids=[sandbox.client_id])["identities"]
    assert found == [
        {
            "id": sandbox.client_id,
            "username": f"{sandbox.client_id}@clients.auth.globus.org",
            "status": "used",
            "name": f"sandbox client {sandbox.client_id}",
            "email": None,
            "organization": None,
            "identity_provider": found[0]["identity_provider"],
        }
    ]
    info = auth_client.userinfo()
    assert info["sub"] == sandbox.client_id


def test_identities_by_username_provision_and_ids(auth_client) -> None:
    assert auth_client.get_identities(usernames=["nobody@example.org"])["identities"] == []
    made = auth_client.get_identities(
        usernames=["Alice@Example.org", "bob@example.org"], provision=True
    )["identities"]
    assert [i["username"] for i in made] == ["alice@example.org", "bob@example.org"]
    again = auth_client.get_identities(usernames=["alice@example.org"], provision=True)
    assert again["identities"][0]["id"] == made[0]["id"]  # deterministic, not re-created
    by_id = auth_client.get_identities(ids=[made[1]["id"], str(uuid.uuid4())])["identities"]
    assert [i["username"] for i in by_id] == ["bob@example.org"]
    fixture = get_response_set(globus_sdk.AuthClient.get_identities).lookup("default").json
    assert set(fixture["identities"][0]) == set(made[0])
    # As in the captured answer: someone who never logged in has no email, status unused.
    assert [(i["email"], i["status"]) for i in made] == [(None, "unused"), (None, "unused")]
    assert (fixture["identities"][0]["email"], fixture["identities"][0]["status"]) == (
        None,
        "unused",
    )


def test_a_seeded_person_has_an_email_and_linked_identities(sandbox, auth_client) -> None:
    seeded = sandbox.control.add_identity("carol@example.org")
    linked = sandbox.control.add_identity("carol@orcid.org", linked_to="carol@example.org")
    assert (seeded["email"], seeded["status"]) == ("carol@example.org", "used")
    assert linked["identity_set"] == [seeded["id"], linked["id"]]
    # Identity lookups answer for the identity asked for, never its set.
    found = auth_client.get_identities(ids=[linked["id"]])["identities"]
    assert [i["username"] for i in found] == ["carol@orcid.org"]


def test_a_tokenless_transfer_request_gets_authentication_failed(sandbox) -> None:
    with (
        globus_sdk.TransferClient() as tokenless,
        pytest.raises(globus_sdk.TransferAPIError) as err,
    ):
        tokenless.get_submission_id()
    assert (err.value.http_status, err.value.code) == (401, "ClientError.AuthenticationFailed")


def test_identities_rejects_both_filters_and_more_than_100(auth_client) -> None:
    with pytest.raises(globus_sdk.AuthAPIError) as both:
        auth_client.get_identities(usernames=["a@example.org"], ids=[str(uuid.uuid4())])
    assert both.value.http_status == 400
    with pytest.raises(globus_sdk.AuthAPIError) as many:
        auth_client.get_identities(usernames=[f"u{i}@example.org" for i in range(101)])
    assert many.value.http_status == 400


def test_registered_secret_is_enforced(sandbox) -> None:
    sandbox.control.add_client(sandbox.client_id, secret="right")
    with _login_client(sandbox, "wrong") as client, pytest.raises(globus_sdk.AuthAPIError) as err:
        client.oauth2_client_credentials_tokens(requested_scopes=TransferScopes.all)
    assert err.value.http_status == 401
    with _login_client(sandbox, "right") as client:
        assert client.oauth2_client_credentials_tokens(requested_scopes=TransferScopes.all)


def test_token_for_another_resource_server_is_refused(sandbox) -> None:
    with _login_client(sandbox) as login:
        groups_token = login.oauth2_client_credentials_tokens(
            requested_scopes=GroupsScopes.all
        ).by_resource_server["groups.api.globus.org"]["access_token"]
        introspected = login.oauth2_token_introspect(groups_token)
    assert introspected["active"] is True
    assert introspected["sub"] == sandbox.client_id
    fixture = get_response_set("auth.oauth2_token_introspect").lookup("default").json
    assert set(fixture) <= set(introspected.data)
    authorizer = globus_sdk.AccessTokenAuthorizer(groups_token)
    with (
        globus_sdk.TransferClient(authorizer=authorizer) as transfer,
        pytest.raises(globus_sdk.TransferAPIError) as err,
    ):
        transfer.get_submission_id()
    assert err.value.http_status == 401
    assert err.value.code == "ClientError.AuthenticationFailed"


def test_validate_and_revoke(sandbox) -> None:
    with _login_client(sandbox) as client:
        token = client.oauth2_client_credentials_tokens(
            requested_scopes=TransferScopes.all
        ).by_resource_server["transfer.api.globus.org"]["access_token"]

        def validate() -> bool:  # as globus-cli does it
            res = client.post("/v2/oauth2/token/validate", data={"token": token}, encoding="form")
            return bool(res["active"])

        assert validate() is True
        client.oauth2_revoke_token(token)
        assert validate() is False
        assert client.oauth2_token_introspect(token)["active"] is False


def _shape(doc: object) -> object:
    """Keys and value types, recursively: what the SDK's parsing depends on."""
    if isinstance(doc, dict):
        return {key: _shape(value) for key, value in doc.items()}
    if isinstance(doc, list):
        return [_shape(item) for item in doc]
    return type(doc).__name__


def test_auth_errors_have_auths_own_body(sandbox, globus_env) -> None:
    """Auth answers ``{"errors": [{"status", "id", "code", "detail", "title"}], "error",
    "error_description"}`` (globus-sdk's captured responses), not Transfer's shape."""
    captured = get_response_set("auth.get_identities").lookup("unauthorized").json
    with globus_sdk.AuthClient() as anonymous, pytest.raises(globus_sdk.AuthAPIError) as err:
        anonymous.get_identities(usernames=["a@example.org"])
    assert err.value.http_status == 401
    assert _shape(err.value.raw_json) == _shape(captured)
    assert err.value.code == "UNAUTHORIZED"
    assert err.value.raw_json["error"] == "unauthorized"
    assert err.value.request_id == err.value.raw_json["errors"][0]["id"]  # AuthAPIError's rule

    sandbox.control.add_client(sandbox.client_id, secret="right")
    with _login_client(sandbox, "wrong") as client, pytest.raises(globus_sdk.AuthAPIError) as bad:
        client.oauth2_client_credentials_tokens(requested_scopes=TransferScopes.all)
    assert bad.value.http_status == 401
    assert _shape(bad.value.raw_json) == _shape(captured)
    assert bad.value.code == "UNAUTHORIZED"
    assert bad.value.raw_json["error"] == "invalid_client"  # OAuth2's name for it
    assert "right" not in bad.value.text
    assert "wrong" not in bad.value.text


def test_a_token_keeps_its_dependent_scopes_but_shows_the_root_ones(sandbox) -> None:
    collection = str(uuid.uuid4())
    dependent = TransferScopes.all.with_dependency(
        globus_sdk.scopes.GCSCollectionScopes(collection).data_access.with_optional(True)
    )
    with _login_client(sandbox) as login:
        tokens = login.oauth2_client_credentials_tokens(requested_scopes=[dependent])
        token = tokens.by_resource_server["transfer.api.globus.org"]
        assert token["scope"] == "urn:globus:auth:scope:transfer.api.globus.org:all"
        assert login.oauth2_token_introspect(token["access_token"])["scope"] == token["scope"]
