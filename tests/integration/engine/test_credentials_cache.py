"""Tokens for a confidential client are cached on disk readable by the owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from reconciler.credentials import SANDBOX_CLIENT_ID, ClientCredentials
from reconciler.globus.connecting import connect
from tests.integration.engine.conftest import World


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
    assert "any-secret" not in cache.read_text()
    assert clients.stats.total() >= 2  # the token request and the call, both counted
