"""The token cache and the client's credentials, over HTTP on the sandbox, as production
runs them (``GLOBUS_CLIENT_ID`` and a secret the sandbox checks): tokens cached 0600,
per client, per secret and per scopes; a refused secret reported as Auth's refusal."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import Result

from reconciler.credentials import SANDBOX_CLIENT_ID, ClientCredentials
from reconciler.globus.caching import compute_cache_namespace
from reconciler.globus.connecting import connect
from reconciler.sandbox.seeding import seed_from_intent
from tests.integration.engine.conftest import ONE_GRANT, World

CLIENT_A = "a0a0a0a0-0000-4000-8000-00000000000a"
CLIENT_B = "b0b0b0b0-0000-4000-8000-00000000000b"


def test_token_cache_is_mode_0600(world: World, tmp_path: Path) -> None:
    world.control.add_client(SANDBOX_CLIENT_ID)
    cache = tmp_path / "state" / "tokens.json"
    clients = connect(ClientCredentials(SANDBOX_CLIENT_ID, "any-secret"), token_cache=cache)
    try:
        clients.transfer.task_list()
    finally:
        clients.close()
    assert cache.exists()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert "any-secret" not in cache.read_text()
    assert clients.stats.total() >= 2  # the token request and the call, both counted


@pytest.fixture
def production(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """Two confidential clients with secrets of their own, both able to manage the
    tutorial collection; the CLI runs without --sandbox."""
    world.write("users.yaml", ONE_GRANT)
    for client, secret in ((CLIENT_A, "secret-of-a"), (CLIENT_B, "secret-of-b")):
        world.control.add_client(client, secret=secret)
        seed_from_intent(world.control, world.intent(), client_id=client)
    monkeypatch.delenv("RECONCILER_SANDBOX_URL")
    return world


def plan_as(world: World, monkeypatch: pytest.MonkeyPatch, client: str, secret: str) -> Result:
    monkeypatch.setenv("GLOBUS_CLIENT_ID", client)
    monkeypatch.setenv("GLOBUS_CLIENT_SECRET", secret)
    return world.cli("plan", str(world.specs))


def cache_document(world: World) -> dict[str, dict[str, dict[str, str]]]:
    path = world.specs.parent / "state" / "tokens.json"  # $RECONCILER_STATE_DIR (globus_env)
    data: dict[str, dict[str, dict[str, str]]] = json.loads(path.read_text())["data"]
    return data


def test_another_client_with_a_wrong_secret_is_refused_despite_a_cache(
    production: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 7: the cache was one namespace for every client, so B with a wrong
    secret ran as A for up to 48 hours."""
    first = plan_as(production, monkeypatch, CLIENT_A, "secret-of-a")
    assert first.exit_code == 0, first.output
    assert list(cache_document(production)) == [compute_cache_namespace(CLIENT_A, "secret-of-a")]

    switched = plan_as(production, monkeypatch, CLIENT_B, "not-the-secret-of-b")
    assert switched.exit_code == 1, switched.output
    message = switched.output
    assert f"auth 401 UNAUTHORIZED: Globus Auth refused a token for client {CLIENT_B}" in message
    assert "invalid_client" in message
    assert "GLOBUS_CLIENT_SECRET" in message  # the hint
    assert "transfer 401" not in message
    assert "not-the-secret-of-b" not in message
    assert "Traceback" not in message

    right = plan_as(production, monkeypatch, CLIENT_B, "secret-of-b")
    assert right.exit_code == 0, right.output
    namespaces = cache_document(production)
    assert sorted(namespaces) == sorted(
        [
            compute_cache_namespace(CLIENT_A, "secret-of-a"),
            compute_cache_namespace(CLIENT_B, "secret-of-b"),
        ]
    )
    tokens = {ns: {rs: t["access_token"] for rs, t in v.items()} for ns, v in namespaces.items()}
    a_tokens, b_tokens = tokens.values()
    assert set(a_tokens.values()).isdisjoint(b_tokens.values())  # never each other's


def test_a_changed_secret_is_checked_at_once_and_a_rotated_one_replaces_the_cache(
    production: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert plan_as(production, monkeypatch, CLIENT_A, "secret-of-a").exit_code == 0

    mistyped = plan_as(production, monkeypatch, CLIENT_A, "secret-of-A")
    assert mistyped.exit_code == 1
    assert f"Globus Auth refused a token for client {CLIENT_A}" in mistyped.output

    production.control.add_client(CLIENT_A, secret="rotated-secret")  # rotated in Globus
    stale = plan_as(production, monkeypatch, CLIENT_A, "secret-of-a")
    assert stale.exit_code == 0  # its cached token is still valid, as Globus's would be
    rotated = plan_as(production, monkeypatch, CLIENT_A, "rotated-secret")
    assert rotated.exit_code == 0, rotated.output
    # The old secret's tokens are dropped from disk once the new secret has its own.
    assert list(cache_document(production)) == [compute_cache_namespace(CLIENT_A, "rotated-secret")]
    again = plan_as(production, monkeypatch, CLIENT_A, "secret-of-a")
    assert again.exit_code == 1  # the old secret now has to ask Globus, which refuses
