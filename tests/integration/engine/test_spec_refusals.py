"""Spec sets that look smaller or different than they are are refused before Globus is
touched (issue 11, findings 3, 4, 5, 6 and 8): on a converged sandbox, ``apply`` with
such a set exits 1 with a located error, makes no API call that writes, and the rules
it would have revoked are still there.

The unreadable directory is real: the commands run as the ``nobody`` user (the tests
run as root, whom file modes do not stop), in a child process that imports the
reconciler as root and then drops its privileges (the interpreter lives under /root,
which nobody cannot read).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.engine.conftest import World

NOBODY = 65534
ALICE = """
distributions:
  - name: per-user
    collection: tutorial
    path: /disthome/{identity_id}/
    grants:
      - identity: alice@example.org
        expires: 2027-06-30
"""
BOB = """
distributions:
  - name: team
    collection: tutorial
    grants:
      - identity: bob@example.org
        path: /disthome/team/
        expires: 2027-06-30
"""
AS_NOBODY = """
import os, sys
# Everything the command may import, imported while root can still read it.
import encodings.idna, encodings.utf_8_sig, hashlib, json, sqlite3, unicodedata
import _ruamel_yaml, ruamel.yaml.cyaml
import globus_sdk
for name in globus_sdk.__all__:
    getattr(globus_sdk, name)
import reconciler.cli
os.setgroups([])
os.setgid({uid})
os.setuid({uid})
sys.argv = ["reconciler", *sys.argv[1:]]
reconciler.cli.main()
"""


def writes_since(world: World, since: int) -> list[dict[str, object]]:
    return [c for c in world.api_calls(since) if c["method"] != "GET"]


def converge(world: World) -> None:
    applied = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert applied.exit_code == 0, applied.output


def test_an_invisible_character_in_a_username_is_refused_and_nothing_is_written(
    world: World,
) -> None:
    world.write("users.yaml", ALICE)
    converge(world)
    alice = world.identity("alice@example.org")
    before = world.rules()
    assert [r["principal"] for r in before] == [alice]
    since = world.control.request_log()["next"]

    for twin in ("alice@example.org\u200b", "\u0430lice@example.org"):
        world.write("users.yaml", ALICE.replace("alice@example.org", twin))
        refused = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
        assert refused.exit_code == 1
        assert "users.yaml:6:" in refused.output
        assert "U+200B ZERO WIDTH SPACE" in refused.output or "U+0430 CYRILLIC" in refused.output
        assert "nothing was planned" in refused.output

    assert writes_since(world, since) == []
    assert world.rules() == before


def test_notify_no_is_refused_and_nothing_is_written(world: World) -> None:
    world.write("users.yaml", ALICE)
    converge(world)
    since = world.control.request_log()["next"]
    world.write("users.yaml", ALICE + "        notify: no\n")
    refused = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert refused.exit_code == 1
    assert "did you mean false?" in refused.output
    assert writes_since(world, since) == []
    assert world.control.notifications() == []


def test_a_fifo_and_a_device_are_refused_at_once_and_nothing_is_written(world: World) -> None:
    world.write("users.yaml", ALICE)
    converge(world)
    since = world.control.request_log()["next"]
    os.mkfifo(world.specs / "p.yaml")
    (world.specs / "z.yaml").symlink_to("/dev/zero")
    refused = world.cli("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert refused.exit_code == 1
    assert "p.yaml: error: this is a FIFO" in refused.output
    assert "z.yaml: error: this is a symlink to a character device" in refused.output
    assert writes_since(world, since) == []


def test_a_renamed_spec_file_is_named_and_strict_refuses_it(world: World) -> None:
    world.write("users.yaml", ALICE)
    converge(world)
    before = world.rules()
    since = world.control.request_log()["next"]
    (world.specs / "users.yaml").rename(world.specs / "users.YAML")
    strict = world.cli("apply", "--sandbox", "--auto-approve", "--strict", str(world.specs))
    assert strict.exit_code == 1
    assert "users.YAML: error: this file is not read as a spec" in strict.output
    assert writes_since(world, since) == []
    assert world.rules() == before
    relaxed = world.cli("plan", "--sandbox", str(world.specs))
    assert "users.YAML: warning: this file is not read as a spec" in relaxed.output


@pytest.fixture
def open_world(world: World) -> Iterator[World]:
    """The world's specs and state where the ``nobody`` user can reach them (pytest's
    own temporary directories are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="reconciler-nobody-"))
    try:
        base.chmod(0o755)
        specs = base / "specs"
        shutil.copytree(world.specs, specs)
        state = base / "state"
        state.mkdir()
        os.chown(state, NOBODY, NOBODY)
        yield World(specs, world.control, world.url)
    finally:
        shutil.rmtree(base)


def run_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECONCILER_STATE_DIR": str(Path(tempfile.gettempdir()))}
    return subprocess.run(
        [sys.executable, "-c", AS_NOBODY.format(uid=NOBODY), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd="/",
        check=False,
    )


def test_an_unreadable_subfolder_makes_validate_and_apply_exit_1_and_nothing_is_written(
    open_world: World,
) -> None:
    world = open_world
    world.write("users.yaml", ALICE)
    (world.specs / "team").mkdir()
    world.write("team/bob.yaml", BOB)
    for path in world.specs.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    world.specs.chmod(0o755)
    converge(world)
    bob = world.identity("bob@example.org")
    before = world.rules()
    assert (bob, "/disthome/team/") in {(r["principal"], r["path"]) for r in before}
    readable = run_as_nobody("validate", str(world.specs))
    assert readable.returncode == 0, readable.stdout + readable.stderr

    (world.specs / "team").chmod(0o700)  # root's alone: nobody cannot list it
    since = world.control.request_log()["next"]
    validated = run_as_nobody("validate", str(world.specs))
    assert validated.returncode == 1, validated.stdout + validated.stderr
    assert f"{world.specs / 'team'}: error: cannot list this directory (Permission denied)" in (
        validated.stdout
    )
    assert "the reconciler runs as user `nobody` (uid 65534)" in validated.stdout

    applied = run_as_nobody("apply", "--sandbox", "--auto-approve", str(world.specs))
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "Permission denied" in applied.stderr
    assert "nothing was planned" in applied.stderr
    assert writes_since(world, since) == []
    assert world.rules() == before

    (world.specs / "team").chmod(0o755)
    (world.specs / "team" / "bob.yaml").chmod(0o600)  # the file, not the folder
    unreadable_file = run_as_nobody("validate", str(world.specs))
    assert unreadable_file.returncode == 1
    assert "bob.yaml: error: cannot read the file: Permission denied" in unreadable_file.stdout

    world.specs.chmod(0o700)  # the top directory itself
    top = run_as_nobody("validate", str(world.specs))
    assert top.returncode == 1
    assert "OK" not in top.stdout
    assert f"{world.specs}: error: cannot list this directory (Permission denied)" in top.stdout
