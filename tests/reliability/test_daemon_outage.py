"""The sandbox unreachable for a while during ``reconciler run``.

The daemon must survive (its loop keeps running, ``/healthz`` stays 200), say so
(``reconciler_passes_total{result="failed"}`` moves, ``/readyz`` turns 503 once the
last success is older than three resync periods, ``pass_failed`` log lines name the
error, nothing is logged as a crash), and converge once the sandbox is back, including
a spec edit made during the outage.

The fast form runs the real ``Daemon`` in this process (its clients' retry sleeps cut to
milliseconds, a one-second resync) with JSON logs into a buffer. The long form runs
``python -m reconciler run`` as a process with the SDK's own retry timing, stops and
restarts the sandbox on the same port, and drives passes with SIGHUP.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.daemon.passes import PassSettings
from reconciler.daemon.scheduling import Schedule
from reconciler.daemon.service import Daemon, DaemonConfig
from reconciler.daemon.triggers import SPEC_CHANGE
from reconciler.logs import configure_logging
from reconciler.sandbox.control_client import SandboxControl
from reconciler.sandbox.embedded import start_sandbox
from reconciler.targeting import TargetOptions, open_target
from tests.reliability.clients import FAST
from tests.reliability.conftest import Seeded
from tests.reliability.polling import http_get, metric, metric_sum, wait_for
from tests.reliability.scanning import SecretScan
from tests.reliability.specsets import SpecSet, compute_problems, make_grants, read_world

RESYNC = 1.0
"""Seconds between drift passes in the fast form: /readyz turns 503 after 3 s of outage."""
LIMIT = 30.0


def stop_sandbox(sandbox: Any) -> int:
    """Take the sandbox down; returns its port."""
    port = int(sandbox.running.port)
    sandbox.running.stop()
    return port


def start_sandbox_again(sandbox: Any, port: int) -> None:
    """Serve the same world on the same port (the fixture stops it at teardown)."""
    sandbox.running = start_sandbox(sandbox.db_path, port=port)
    sandbox.control = SandboxControl(sandbox.running.url)


def log_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def converged(sandbox: Any, spec: SpecSet, now: datetime) -> bool:
    try:
        return compute_problems(read_world(sandbox.control.dump()), spec, now=now) == []
    except OSError:
        return False


@contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """The production log configuration (JSON lines, redaction) writing into a buffer."""
    saved = structlog.get_config()
    buffer = io.StringIO()
    configure_logging(stream=buffer, as_json=True)
    try:
        yield buffer
    finally:
        structlog.configure(**saved)
        structlog.contextvars.clear_contextvars()


@contextmanager
def daemon_in_process(specs: Path, tmp_path: Path) -> Iterator[Daemon]:
    """The real daemon on a thread, its clients' retry sleeps cut to milliseconds, its
    metrics endpoint on a free port (``daemon.server.url``); stopped with SIGTERM after."""
    with open_target(TargetOptions(sandbox=True)) as target:
        for client in (target.clients.transfer, target.clients.groups, target.clients.auth):
            client.retry_config.backoff = lambda _ctx: FAST
            client.retry_config.max_sleep = FAST
        daemon = Daemon(
            DaemonConfig(
                settings=PassSettings(paths=(specs,)),
                schedule=Schedule(resync=RESYNC, backoff_base=0.2, backoff_cap=0.5),
                suspend_file=tmp_path / "suspended",
                metrics_address="127.0.0.1:0",
                watch=False,
            ),
            target,
            environ={},
        )
        codes: list[int] = []
        thread = threading.Thread(target=lambda: codes.append(daemon.run(install_signals=False)))
        thread.start()
        try:
            wait_for(lambda: daemon.server, limit=LIMIT, what="the metrics endpoint")
            yield daemon
        finally:
            daemon.signals.send(signal.SIGTERM)
            thread.join(timeout=LIMIT)
        assert not thread.is_alive(), "the daemon did not stop"
        assert codes == [0]


def check_outage_log(output: str) -> None:
    """``pass_failed`` with an error and a retry time, no crash, and success at the end."""
    events = log_events(output)
    names = [e["event"] for e in events]
    failures = [e for e in events if e["event"] == "pass_failed"]
    assert len(failures) >= 2, names
    assert "pass_crashed" not in names, "an outage is not a crash: " + output[-3000:]
    assert "Traceback" not in output
    assert all(e["error"] and e["next_retry"] for e in failures), failures
    last = [e for e in events if e["event"] in ("pass_finished", "pass_failed")][-1]
    assert last["result"] == "success", last


def failed_passes(url: str) -> float:
    return metric(http_get(f"{url}/metrics")[1], "reconciler_passes_total", result="failed")


def more_failed_passes(url: str, than: float) -> bool:
    return failed_passes(url) > than


@pytest.mark.parametrize("outage", ["server_stopped", "connections_dropped"])
def test_the_daemon_survives_an_outage_reports_it_and_recovers(
    *,
    outage: str,
    sandbox: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    rng: Seeded,
    secret_scan: SecretScan,
) -> None:
    now = datetime.now(UTC)
    specs = tmp_path / "specs"
    before = SpecSet(make_grants(rng, range(4), now))
    before.write(specs)
    after = SpecSet((*before.grants[1:], *make_grants(rng, range(4, 6), now)))
    with json_logs() as logs, daemon_in_process(specs, tmp_path) as daemon:
        assert daemon.server is not None
        url = daemon.server.url
        wait_for(lambda: converged(sandbox, before, now), limit=LIMIT, what="first pass")
        wait_for(lambda: http_get(f"{url}/readyz")[0] == 200, limit=LIMIT, what="ready")
        failed_before = failed_passes(url)

        # The outage: either the whole server is gone, or its control plane answers
        # (seeding works) while every Globus API request has its connection dropped.
        # The specs change meanwhile; the watcher is off, so say so as it would.
        port = stop_sandbox(sandbox) if outage == "server_stopped" else 0
        if not port:
            sandbox.control.inject_fault(drop=True)
        after.write(specs)
        daemon.inbox.post(SPEC_CHANGE)
        wait_for(lambda: http_get(f"{url}/readyz")[0] == 503, limit=LIMIT, what="unready")
        text = http_get(f"{url}/metrics")[1]
        assert metric(text, "reconciler_passes_total", result="failed") >= failed_before + 2
        assert http_get(f"{url}/healthz")[0] == 200  # alive all the same
        if port:
            start_sandbox_again(sandbox, port)
        else:
            assert metric_sum(text, "reconciler_globus_requests_total", status="error") > 0
            sandbox.control.clear_faults()
        wait_for(lambda: converged(sandbox, after, now), limit=LIMIT, what="recovery")
        wait_for(lambda: http_get(f"{url}/readyz")[0] == 200, limit=LIMIT, what="ready again")
    secret_scan.add("the daemon's JSON log", logs.getvalue())
    check_outage_log(logs.getvalue())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_daemon_process_survives_outages_with_real_retry_timing(
    *,
    sandbox: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    rng: Seeded,
    secret_scan: SecretScan,
) -> None:
    """Two outages in a row against ``python -m reconciler run``: the server stopped
    (the pass fails at once), then every API connection dropped (the pass fails after
    the SDK's own retries, about 15 s). Each time the specs change meanwhile."""
    now = datetime.now(UTC)
    specs = tmp_path / "specs"
    spec = SpecSet(make_grants(rng, range(4), now))
    spec.write(specs)
    metrics_port = free_port()
    url = f"http://127.0.0.1:{metrics_port}"
    command = [sys.executable, "-m", "reconciler", "run", "--sandbox", str(specs), "--no-watch"]
    command += ["--metrics-address", f"127.0.0.1:{metrics_port}", "--resync", "5"]
    out_path, err_path = tmp_path / "daemon.out", tmp_path / "daemon.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            command, env={**os.environ, **globus_env}, cwd=tmp_path, stdout=out, stderr=err
        )
    try:
        wait_for(lambda: converged(sandbox, spec, now), limit=60, what="first pass")
        for number, outage in enumerate(["server_stopped", "connections_dropped"], start=4):
            wait_for(lambda: http_get(f"{url}/readyz")[0] == 200, limit=60, what="ready")
            failed = failed_passes(url)
            port = stop_sandbox(sandbox) if outage == "server_stopped" else 0
            if not port:
                sandbox.control.inject_fault(drop=True)
            spec = SpecSet((*spec.grants[1:], *make_grants(rng, [number], now)))
            spec.write(specs)
            process.send_signal(signal.SIGHUP)
            wait_for(partial(more_failed_passes, url, failed), limit=120, what="a failed pass")
            wait_for(lambda: http_get(f"{url}/readyz")[0] == 503, limit=120, what="unready")
            assert http_get(f"{url}/healthz")[0] == 200
            assert process.poll() is None, "the daemon died"
            if port:
                start_sandbox_again(sandbox, port)
            else:
                sandbox.control.clear_faults()
            process.send_signal(signal.SIGHUP)
            wait_for(partial(converged, sandbox, spec, now), limit=120, what=f"after {outage}")
        wait_for(lambda: http_get(f"{url}/readyz")[0] == 200, limit=60, what="ready at the end")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output, errors = out_path.read_text(), err_path.read_text()
    secret_scan.add("the daemon process's stdout", output)
    secret_scan.add("the daemon process's stderr", errors)
    check_outage_log(output)
    assert "Traceback" not in errors, errors[-3000:]
    assert log_events(output)[-1]["event"] == "daemon_stopped"


def test_commands_against_an_unreachable_sandbox_fail_in_one_line(
    *, sandbox: Any, globus_env: dict[str, str], tmp_path: Path, rng: Seeded,
    secret_scan: SecretScan,
) -> None:  # fmt: skip
    specs = tmp_path / "specs"
    SpecSet(make_grants(rng, range(2), datetime.now(UTC))).write(specs)
    stop_sandbox(sandbox)
    for args in (["plan"], ["apply", "--auto-approve"], ["status"]):
        # catch_exceptions=False: a traceback fails this test with the exception itself.
        result = CliRunner().invoke(cli, [*args, "--sandbox", str(specs)], catch_exceptions=False)
        secret_scan.add(f"reconciler {args[0]} with the sandbox down", result.output)
        assert result.exit_code == 1, result.output
        assert "error: sandbox: cannot seed it at http://127.0.0.1:" in result.stderr
        assert "Connection refused" in result.stderr
