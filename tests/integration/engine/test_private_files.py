"""Finding 9: what the reconciler writes about who may read what is readable by its
owner only: the state directory 0700, the state store, saved plans and the token cache
0600, including files an older version left open, over HTTP on the sandbox."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reconciler.sandbox.seeding import seed_from_intent
from tests.integration.engine.conftest import ONE_GRANT, World

CLIENT = "c0c0c0c0-0000-4000-8000-00000000000c"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("older_version_left_them_open", [False, True])
def test_state_directory_store_plans_and_tokens_are_private(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    older_version_left_them_open: bool,
) -> None:
    world.write("users.yaml", ONE_GRANT)
    world.control.add_client(CLIENT, secret="s")
    seed_from_intent(world.control, world.intent(), client_id=CLIENT)
    monkeypatch.delenv("RECONCILER_SANDBOX_URL")
    monkeypatch.setenv("GLOBUS_CLIENT_ID", CLIENT)
    monkeypatch.setenv("GLOBUS_CLIENT_SECRET", "s")
    state = tmp_path / "state"  # $RECONCILER_STATE_DIR
    saved = tmp_path / "plans" / "plan.json"
    saved.parent.mkdir()
    if older_version_left_them_open:
        state.mkdir(mode=0o755)
        for name in ("state.db", "tokens.json"):
            (state / name).touch()
        (state / "tokens.json").write_text("{}")
        saved.write_text("{}")
        for path in (state, state / "state.db", state / "tokens.json", saved):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    previous = os.umask(0o022)  # the usual umask: new files would be 0644 by default
    try:
        planned = world.cli("plan", "--out", str(saved), str(world.specs))
        applied = world.cli("apply", "--auto-approve", str(world.specs))
    finally:
        os.umask(previous)
    assert planned.exit_code == 0, planned.output
    assert applied.exit_code == 0, applied.output
    assert mode(state) == 0o700
    modes = {p.name: mode(p) for p in state.iterdir()}
    # The store, the token cache, and the lock files beside them (the cache's writers,
    # the store's target lock): every one the owner's alone.
    assert {"state.db", "tokens.json", ".tokens.json.lock"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)
    assert mode(saved) == 0o600
    assert mode(saved.parent) == 0o755  # a folder the user chose is not ours to change
    assert len(world.rules()) == 1
