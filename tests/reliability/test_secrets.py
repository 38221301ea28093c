"""No client secret and no access token in anything the reconciler prints or logs.

Every test of this suite scans its own output (the ``secret_scan`` fixture: CLI output,
killed processes' stdout and stderr, daemon logs, SDK log records) for the sandbox
client's secret and Basic header and for every token its sandbox issued. This module adds
the production path, where a real secret is configured: a confidential client registered
with a secret of its own, used through ``GLOBUS_CLIENT_ID``/``GLOBUS_CLIENT_SECRET`` and
``--client-secret-file``, a wrong secret, every command, and ``reconciler run`` as a
process whose requests are refused with 401 (tokens fetched again), 403 and 503.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.spec import load_spec_set
from tests.reliability.conftest import Seeded
from tests.reliability.polling import wait_for
from tests.reliability.scanning import SecretScan, read_issued_tokens
from tests.reliability.specsets import SpecSet, compute_problems, make_grants, read_world

LIMIT = 60.0


@pytest.fixture
def client(sandbox: Any, rng: Seeded, secret_scan: SecretScan) -> tuple[str, str]:
    """A confidential client registered with a secret of its own (token requests with
    another secret are refused), known to the scan."""
    client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    secret = f"rel-secret-{rng.getrandbits(64):016x}"
    sandbox.control.add_client(client_id, secret=secret)
    secret_scan.add_client(client_id, secret)
    return client_id, secret


def production_env(
    globus_env: dict[str, str], state: Path, client: tuple[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in globus_env.items() if k != "RECONCILER_SANDBOX_URL"}
    return {
        **env,
        "RECONCILER_STATE_DIR": str(state),
        "GLOBUS_CLIENT_ID": client[0],
        "GLOBUS_CLIENT_SECRET": client[1],
    }


def invoke(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> Result:
    with monkeypatch.context() as patched:
        for name, value in env.items():
            patched.setenv(name, value)
        patched.delenv("RECONCILER_SANDBOX_URL", raising=False)
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_scan_finds_what_it_looks_for(sandbox: Any, globus_env: dict[str, str]) -> None:
    """The scan can fail: a token, a secret or a Basic header in the output is found."""
    scan = SecretScan(sandbox.db_path)
    scan.add_client("c", "a-very-secret-value")
    scan.add("a clean output", "rule created for alice; Bearer [REDACTED]")
    assert scan.findings() == []
    scan.add("a leaky output", "Authorization: Bearer sbx_abcdefghijklmnopqrstuvwxyz012")
    scan.add("another", "client_secret=a-very-secret-value; Basic YzphLXZlcnktc2VjcmV0LXZhbHVl")
    assert len(scan.findings()) == 4, scan.findings()


def test_commands_with_a_configured_secret_print_no_secret_or_token(
    *,
    sandbox: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    rng: Seeded,
    client: tuple[str, str],
    secret_scan: SecretScan,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = datetime.now(UTC)
    specs = tmp_path / "specs"
    spec = SpecSet(make_grants(rng, range(6), now))
    spec.write(specs)
    loaded = load_spec_set([specs], now=now)
    assert loaded.intent is not None
    seed_from_intent(sandbox.control, loaded.intent, client_id=client[0])
    env = production_env(globus_env, tmp_path / "state", client)

    # Transient errors on the way, absorbed by retries (their bodies are printed nowhere).
    sandbox.control.inject_fault(path=r"/access$", method="POST", status=503, times=2)
    sandbox.control.inject_fault(path=r"/access_list$", status=401, times=1)
    runs = {
        "validate": invoke(monkeypatch, env, "validate", str(specs)),
        "plan": invoke(monkeypatch, env, "plan", "--output", "json", str(specs)),
        "apply": invoke(monkeypatch, env, "apply", "--auto-approve", str(specs)),
        "status": invoke(monkeypatch, env, "status", str(specs)),
        "history": invoke(monkeypatch, env, "history"),
    }
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(client[1] + "\n")
    from_file = {k: v for k, v in env.items() if k != "GLOBUS_CLIENT_SECRET"}
    runs["plan with --client-secret-file"] = invoke(
        monkeypatch, from_file, "plan", "--client-secret-file", str(secret_file), str(specs)
    )
    wrong = f"wrong-secret-{rng.getrandbits(64):016x}"
    secret_scan.secrets["the wrong secret"] = wrong
    fresh_state = {
        **env,
        "GLOBUS_CLIENT_SECRET": wrong,
        "RECONCILER_STATE_DIR": str(tmp_path / "s2"),
    }
    runs["plan with a wrong secret"] = invoke(monkeypatch, fresh_state, "plan", str(specs))
    # The same with the cache the runs above filled: before, its tokens served any
    # secret and any client for up to 48 hours.
    runs["plan with a wrong secret and a cache"] = invoke(
        monkeypatch, {**env, "GLOBUS_CLIENT_SECRET": wrong}, "plan", str(specs)
    )
    other = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    other_secret = f"rel-secret-{rng.getrandbits(64):016x}"
    sandbox.control.add_client(other, secret=other_secret)
    secret_scan.add_client(other, other_secret)
    switched = {**env, "GLOBUS_CLIENT_ID": other, "GLOBUS_CLIENT_SECRET": wrong}
    runs["plan as another client with a wrong secret and a cache"] = invoke(
        monkeypatch, switched, "plan", str(specs)
    )
    saved = tmp_path / "saved-plan.json"
    runs["plan --out"] = invoke(monkeypatch, env, "plan", "--out", str(saved), str(specs))

    for name, result in runs.items():
        secret_scan.add(f"`reconciler {name}`", result.output + result.stderr)
    refused = (
        "plan with a wrong secret",
        "plan with a wrong secret and a cache",
        "plan as another client with a wrong secret and a cache",
    )
    assert {name: r.exit_code for name, r in runs.items()} == {
        **dict.fromkeys(runs, 0),
        **dict.fromkeys(refused, 1),
    }, {name: r.output[-500:] for name, r in runs.items()}
    for name in refused:
        assert "invalid_client" in runs[name].stderr.lower()
    assert f"refused a token for client {other}" in runs[refused[2]].stderr
    assert compute_problems(read_world(sandbox.control.dump()), spec, now=now) == []

    # What stays on disk: the state store and the saved plan hold no secret and no
    # token; the token cache holds tokens (that is its job) but no secret, and like the
    # rest is readable by its owner only.
    state = tmp_path / "state"
    for name in ("state.db", "state.db-wal"):
        if (state / name).exists():
            secret_scan.add(f"the state store's {name}", (state / name).read_bytes())
    secret_scan.add("the saved plan", saved.read_text())
    cache = (state / "tokens.json").read_text()
    assert not [what for what, secret in secret_scan.secrets.items() if secret in cache]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [state, *state.iterdir(), saved]}
    assert modes == {**dict.fromkeys(modes, 0o600), "state": 0o700}, modes
    secret_scan.add("log records", caplog.text)
    issued = secret_scan.check()
    assert issued >= 2, "the sandbox issued fewer tokens than this scenario needs"


def test_the_daemon_logs_no_secret_or_token_through_errors_and_token_renewal(
    *,
    sandbox: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    rng: Seeded,
    client: tuple[str, str],
    secret_scan: SecretScan,
) -> None:
    now = datetime.now(UTC)
    specs = tmp_path / "specs"
    spec = SpecSet(make_grants(rng, range(3), now))
    spec.write(specs)
    loaded = load_spec_set([specs], now=now)
    assert loaded.intent is not None
    seed_from_intent(sandbox.control, loaded.intent, client_id=client[0])
    env = {**os.environ, **production_env(globus_env, tmp_path / "state", client)}
    env.pop("RECONCILER_SANDBOX_URL", None)
    command = [sys.executable, "-m", "reconciler", "run", str(specs), "--no-watch"]
    command += ["--metrics-address", "off", "--resync", "3600"]
    out_path, err_path = tmp_path / "daemon.out", tmp_path / "daemon.err"
    # Refusals the daemon logs: 401 (the SDK fetches a token again and retries), one
    # rule refused for good (action_failed, with Globus's message), 503s retried.
    sandbox.control.inject_fault(path=r"/access_list$", status=401, times=1)
    sandbox.control.inject_fault(
        path=r"/access$", method="POST", status=403, code="PermissionDenied", times=1
    )
    sandbox.control.inject_fault(path=r"/mkdir$", status=503, times=1)
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=err)
    try:
        # The first pass fails one rule; SIGHUP runs the next pass now (rather than after
        # the 5 s backoff), and it creates the rule.
        wait_for(
            lambda: '"event": "pass_failed"' in out_path.read_text(),
            limit=LIMIT,
            what="the first pass fails",
        )
        process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: compute_problems(read_world(sandbox.control.dump()), spec, now=now) == [],
            limit=LIMIT,
            what="the daemon converges",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=LIMIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output, errors = out_path.read_text(), err_path.read_text()
    secret_scan.add("the daemon's stdout", output)
    secret_scan.add("the daemon's stderr", errors)
    assert '"event": "action_failed"' in output, output[-2000:]
    assert len(read_issued_tokens(sandbox.db_path)) >= 2  # the 401 made it fetch again
    secret_scan.check()
