"""End to end: a gateway's request, written into the specs with the editing API while
the daemon (`reconciler run --sandbox`, a real process) watches them, is converged on
the sandbox within seconds; a revocation likewise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import api
from tests.integration.worlds import rule_usernames

COLLECTION = "e56c36e4-1063-11e6-a747-22000bf2d559"
SPECS = {
    "collections.yaml": (
        "# the gateway's collection\n"
        f"collections:\n  petrel:\n    id: {COLLECTION}\n    root: /disthome/\n"
        "    policy: {max_duration: 3650d}\n"
    ),
    "grants.yaml": (
        "distributions:\n"
        "  - name: per-user   # one directory per user\n"
        "    collection: petrel\n"
        "    path: /disthome/{identity_id}/\n"
        "    grants:\n"
        "      - identity: alice@example.org\n"
        "        expires: 2030-01-01\n"
    ),
}
CONVERGED_WITHIN = 8.0  # seconds: the watcher's debounce (1 s) plus one pass, with slack


def rules(sandbox: Any) -> dict[str, str]:
    """The sandbox collection's rules as ``{path: username}``."""
    return rule_usernames(sandbox.control.dump(), COLLECTION)


def wait_for(predicate: Callable[[], bool], limit: float) -> float:
    """Seconds until ``predicate`` holds (polling every 50 ms), or fail after ``limit``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > limit:
            pytest.fail(f"not converged within {limit} s")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def daemon(sandbox: Any, globus_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    """`reconciler run --sandbox` on a fresh spec directory; yields the directory."""
    specs = tmp_path / "specs"
    specs.mkdir()
    for name, text in SPECS.items():
        (specs / name).write_text(text)
    env = {**os.environ, **globus_env, "RECONCILER_STATE_DIR": str(tmp_path / "state")}
    env.pop("NOTIFY_SOCKET", None)
    log = (tmp_path / "daemon.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "run",
            "--sandbox",
            str(specs),
            "--metrics-address",
            "",
            "--resync",
            "3600",
            "--log-format",
            "json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield specs
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        print((tmp_path / "daemon.log").read_text()[-4000:])


def test_a_grant_added_by_the_gateway_is_converged_within_seconds(
    daemon: Path, sandbox: Any
) -> None:
    wait_for(lambda: "alice@example.org" in rules(sandbox).values(), limit=30)

    result = api.add_grant(daemon, "per-user", "bob@example.org", duration="7d")
    assert result.changed
    took = wait_for(lambda: "bob@example.org" in rules(sandbox).values(), limit=CONVERGED_WITHIN)
    print(f"grant add converged in {took:.2f} s")

    api.revoke_grant(daemon, "per-user", "bob@example.org")
    took = wait_for(
        lambda: "bob@example.org" not in rules(sandbox).values(), limit=CONVERGED_WITHIN
    )
    print(f"grant revoke converged in {took:.2f} s")
    assert set(rules(sandbox).values()) == {"alice@example.org"}
