"""GLOBUS_DATA from real hubs (tests/hub_shapes.py): the user's identity for the notebook
helper, the tokens for the reconciler, and what is said when a token is missing."""

from __future__ import annotations

import pytest

from reconciler.api import HubIdentity, load_hub_identity
from reconciler.credentials import (
    ClientCredentials,
    TokenCredentials,
    load_credentials,
    require_renewable,
)
from reconciler.errors import ConfigurationError
from reconciler.hub import compute_missing_token_message
from tests import hub_shapes
from tests.hub_shapes import PRIMARY, USERNAME, encode

ALICE = HubIdentity(
    id=PRIMARY,
    username=USERNAME,
    name="Alice Liddell",
    email="alice@uchicago.edu",
    identity_provider="University of Chicago",
)
TOKENS = {
    "auth.globus.org": "A",
    "transfer.api.globus.org": "T",
    "groups.api.globus.org": "G",
}


@pytest.mark.parametrize(
    "bundle",
    [
        pytest.param(hub_shapes.tutorial(TOKENS), id="tutorial: decoded id_token at the top"),
        pytest.param(hub_shapes.oauthenticator_16(TOKENS), id="oauthenticator 16: defaults"),
        pytest.param(
            {**hub_shapes.oauthenticator_16(TOKENS), "token_response": {}},
            id="oauthenticator 16: globus_user alone",
        ),
        pytest.param(
            {**hub_shapes.oauthenticator_16(TOKENS), "globus_user": None},
            id="oauthenticator 16: token_response id_token alone",
        ),
    ],
)
def test_each_hub_shape_yields_the_signed_in_users_primary_identity(bundle: object) -> None:
    assert load_hub_identity({"GLOBUS_DATA": encode(bundle)}) == ALICE


def test_the_tutorial_shape_gives_every_token_and_the_identity() -> None:
    creds = load_credentials({"GLOBUS_DATA": encode(hub_shapes.tutorial(TOKENS))})
    assert isinstance(creds, TokenCredentials)
    assert dict(creds.tokens) == TOKENS
    assert creds.identity_id == PRIMARY
    assert set(creds.expires_at) == set(TOKENS)  # expires_at_seconds, as the hub stored it


def test_oauthenticators_default_shape_gives_only_what_the_hub_passed_on() -> None:
    """token_response still holds the excluded Auth and Groups tokens: they are not
    taken, the hub excluded them on purpose."""
    bundle = hub_shapes.oauthenticator_16(TOKENS, issued_at=1_800_000_000)
    assert bundle["token_response"]["access_token"] == "A"
    creds = load_credentials({"GLOBUS_DATA": encode(bundle)})
    assert isinstance(creds, TokenCredentials)
    assert dict(creds.tokens) == {"transfer.api.globus.org": "T"}
    assert creds.identity_id == PRIMARY
    # expires_in only, counted from the id_token's iat (issued with the tokens)
    assert creds.expires_at == {"transfer.api.globus.org": 1_800_000_000 + 172800}


def test_without_an_id_token_expires_in_gives_no_expiry() -> None:
    bundle = hub_shapes.oauthenticator_16(TOKENS, issued_at=1_800_000_000)
    del bundle["token_response"]["id_token"]
    del bundle["globus_user"]
    creds = load_credentials({"GLOBUS_DATA": encode(bundle)})
    assert isinstance(creds, TokenCredentials)
    assert creds.expires_at == {}  # no issue time: Globus itself says when it has expired


def test_an_old_oauthenticator_shape_has_tokens_but_no_identity() -> None:
    bundle = hub_shapes.oauthenticator_15(TOKENS)
    creds = load_credentials({"GLOBUS_DATA": encode(bundle)})
    assert isinstance(creds, TokenCredentials)
    assert dict(creds.tokens) == {"transfer.api.globus.org": "T"}
    assert creds.identity_id is None
    with pytest.raises(ConfigurationError, match="holds no id_token and no globus_user"):
        load_hub_identity({"GLOBUS_DATA": encode(bundle)})


@pytest.mark.parametrize(
    ("server", "needed_for", "scope"),
    [
        ("auth.globus.org", "looking up identities", "openid profile"),
        ("groups.api.globus.org", "group memberships", "groups.api.globus.org:all"),
    ],
)
def test_the_missing_token_message_names_the_token_and_the_hub_setting(
    server: str, needed_for: str, scope: str
) -> None:
    message = compute_missing_token_message(server)
    assert "\n" not in message
    assert f"no {server} token" in message
    assert needed_for in message
    assert f"remove {server!r} from c.GlobusOAuthenticator.exclude_tokens" in message
    assert scope in message
    assert "c.GlobusOAuthenticator.scope" in message


def test_the_daemon_refuses_hub_tokens_and_explains_why() -> None:
    creds = load_credentials({"GLOBUS_DATA": encode(hub_shapes.tutorial(TOKENS))})
    with pytest.raises(ConfigurationError) as refused:
        require_renewable(creds, command="run")
    message = str(refused.value)
    assert "expire after about 48 hours" in message
    assert "confidential client" in message
    assert "GLOBUS_CLIENT_ID" in message
    client = ClientCredentials("c", "s")
    assert require_renewable(client, command="run") is client
