"""Tokens from a JupyterHub (``GLOBUS_DATA``) over HTTP on the sandbox, in the shapes
real hubs build (tests/hub_shapes.py): plan and apply work, a token the hub excluded is
named in one line with the hub setting that brings it, and the daemon is refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import globus_sdk
import pytest
from globus_sdk.scopes import AuthScopes, GroupsScopes, TransferScopes

from reconciler.sandbox.seeding import seed_from_intent
from tests import hub_shapes
from tests.integration.engine.conftest import ONE_GRANT, World

HUB_USER = "d0d0d0d0-0000-4000-8000-00000000000d"
"""The sandbox issues client-credentials tokens only: a client stands in for the user."""
UUID_GRANT = ONE_GRANT.replace("alice@example.org", "0f0f0f0f-0000-4000-8000-0000000000a1")
MEMBERSHIP = """
memberships:
  - group: tutorial-users
    identity: 0f0f0f0f-0000-4000-8000-0000000000a1
    expires: 2027-06-30
"""


def sandbox_tokens(world: World) -> dict[str, str]:
    """Live sandbox tokens for the hub user, one per resource server."""
    world.control.add_client(HUB_USER, secret="hub-user")
    seed_from_intent(world.control, world.intent(), client_id=HUB_USER)
    with globus_sdk.ConfidentialAppAuthClient(HUB_USER, "hub-user") as login:
        response = login.oauth2_client_credentials_tokens(
            requested_scopes=[TransferScopes.all, GroupsScopes.all, AuthScopes.openid]
        )
    return {rs: t["access_token"] for rs, t in response.by_resource_server.items()}


@pytest.fixture
def hub(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for name in ("GLOBUS_CLIENT_ID", "GLOBUS_CLIENT_SECRET", "RECONCILER_SANDBOX_URL"):
        monkeypatch.delenv(name, raising=False)
    return world


def writes(world: World, since: int) -> list[object]:
    return [e for e in world.api_calls(since) if e["method"] in ("POST", "PUT", "DELETE")]


@pytest.mark.parametrize("shape", [hub_shapes.tutorial, hub_shapes.oauthenticator_15,
                                   hub_shapes.oauthenticator_16])  # fmt: skip
def test_plan_and_apply_work_with_the_hubs_tokens(
    hub: World, monkeypatch: pytest.MonkeyPatch, shape: object
) -> None:
    hub.write("users.yaml", ONE_GRANT)
    hub.write("members.yaml", MEMBERSHIP)
    tokens = sandbox_tokens(hub)
    bundle = shape(tokens, exclude=())  # type: ignore[operator]  # the hub passes all on
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    planned = hub.cli("plan", "--detailed-exitcode", str(hub.specs))
    assert planned.exit_code == 2, planned.output
    applied = hub.cli("apply", "--auto-approve", str(hub.specs))
    assert applied.exit_code == 0, applied.output
    assert len(hub.rules()) == 1
    assert "0f0f0f0f-0000-4000-8000-0000000000a1" in hub.members()


def test_a_missing_auth_token_is_named_with_the_hub_setting(
    hub: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """oauthenticator's defaults pass on the Transfer token only; usernames need Auth.
    Today's reconciler answered `auth 401 ... No bearer token`."""
    (hub.specs / "groups.yaml").unlink()
    hub.write("users.yaml", ONE_GRANT)
    bundle = hub_shapes.oauthenticator_16(sandbox_tokens(hub))
    assert set(bundle["tokens"]) == {"transfer.api.globus.org"}
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    since = hub.control.request_log()["next"]
    result = hub.cli("apply", "--auto-approve", str(hub.specs))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert (
        "GLOBUS_DATA holds no auth.globus.org token, needed for looking up identities" in lines[0]
    )
    assert "'auth.globus.org' from c.GlobusOAuthenticator.exclude_tokens" in lines[0]
    assert "Traceback" not in result.output
    assert writes(hub, since) == []
    assert not [e for e in hub.api_calls(since) if "/v2/api/identities" in str(e["path"])]


def test_a_missing_groups_token_is_named_with_the_hub_setting(
    hub: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.write("users.yaml", UUID_GRANT)
    hub.write("members.yaml", MEMBERSHIP)
    tokens = sandbox_tokens(hub)
    bundle = hub_shapes.oauthenticator_16(tokens, exclude=("groups.api.globus.org",))
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    since = hub.control.request_log()["next"]
    result = hub.cli("plan", str(hub.specs))
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert "GLOBUS_DATA holds no groups.api.globus.org token" in line
    assert "group memberships" in line
    assert "'groups.api.globus.org' from c.GlobusOAuthenticator.exclude_tokens" in line
    assert "groups 401" not in line
    assert writes(hub, since) == []


def test_an_expired_hub_token_says_to_sign_in_again(
    hub: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.write("users.yaml", UUID_GRANT)
    bundle = hub_shapes.tutorial(sandbox_tokens(hub), expires_at=1_700_000_000)
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    result = hub.cli("plan", str(hub.specs))
    assert result.exit_code == 1
    assert "expired at 2023-11-14T22:13:20+00:00" in result.output
    assert "restart your server from the hub's control panel" in result.output


def test_an_expired_token_from_oauthenticator_16_is_not_sent(
    hub: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """oauthenticator 16 keeps only ``expires_in``: counted from the id_token's ``iat``
    (the same token response), a token issued 49 hours ago has expired and is not sent.
    Before, with no expiry known, it was used until Globus refused it."""
    hub.write("users.yaml", UUID_GRANT)
    issued = int(time.time()) - 49 * 3600
    bundle = hub_shapes.oauthenticator_16(sandbox_tokens(hub), exclude=(), issued_at=issued)
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    since = hub.control.request_log()["next"]
    result = hub.cli("plan", str(hub.specs))
    assert result.exit_code == 1, result.output
    expired = datetime.fromtimestamp(issued + 172800, UTC).isoformat(timespec="seconds")
    assert f"token in GLOBUS_DATA expired at {expired}" in result.output
    assert "restart your server from the hub's control panel" in result.output
    assert hub.api_calls(since) == []


def test_the_daemon_refuses_hub_tokens(hub: World, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.write("users.yaml", UUID_GRANT)
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(hub_shapes.tutorial(sandbox_tokens(hub))))
    since = hub.control.request_log()["next"]
    result = hub.cli("run", "--no-watch", "--metrics-address", "off", str(hub.specs))
    assert result.exit_code == 1
    assert "`reconciler run` cannot run on the tokens in GLOBUS_DATA" in result.output
    assert "expire after about 48 hours" in result.output
    assert "GLOBUS_CLIENT_ID" in result.output
    assert "Traceback" not in result.output
    assert hub.api_calls(since) == []  # refused before anything was read


def test_staging_from_a_mapped_collection_with_hub_tokens_says_what_the_hub_must_ask(
    hub: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub's tokens cannot gain the data_access consent: Globus refuses the copy, and
    the grant says which scope the hub must request; nothing is retried for an hour."""
    source = "0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11"
    hub.control.add_collection(source, roots=["/datasets/"], entity_type="GCSv5_mapped_collection")
    hub.write(
        "staged.yaml",
        UUID_GRANT.replace("    grants:", f"    stage: {{collection: {source}, path: /d/}}\n"
                           "    grants:"),
    )  # fmt: skip
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(hub_shapes.tutorial(sandbox_tokens(hub))))
    applied = hub.cli("apply", "--auto-approve", str(hub.specs))
    assert applied.exit_code == 1
    assert f"staging from {source} refused: the hub's Transfer token has no consent" in (
        applied.output
    )
    assert f"[*https://auth.globus.org/scopes/{source}/data_access]" in applied.output
    assert "c.GlobusOAuthenticator.scope" in applied.output
    assert [t for t in hub.control.dump()["tasks"] if t["type"] == "TRANSFER"] == []
    again = hub.cli("plan", str(hub.specs))
    assert again.exit_code == 1
    assert "staged.yaml" in again.output
    assert "cannot be staged" in again.output
    assert "stage data" not in again.output


def test_doctor_reports_a_missing_hub_token_as_a_failed_check(
    hub: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doctor's contract: a failed call is a failed check, never an exception."""
    hub.write("users.yaml", UUID_GRANT)
    bundle = hub_shapes.oauthenticator_16(sandbox_tokens(hub))
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    result = hub.cli("doctor", str(hub.specs))
    assert result.exit_code == 1
    assert "GLOBUS_DATA holds no groups.api.globus.org token" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) > 1  # the other checks are reported too
