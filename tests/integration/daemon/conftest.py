"""Fixtures for daemon integration tests: spec files written on the fly (``kit``), a
daemon run in-process on a thread against the fixture sandbox (``start_daemon``), views
of the sandbox world, and captured log events (``events``).

The daemon is the real one (real passes, real SDK over HTTP); only signals are replaced
by posting to ``Daemon.control`` and the spec watcher by ``Daemon.inbox`` where a test
says so. Events are captured as dicts with the wall-clock time they were logged.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from reconciler.daemon.passes import PassSettings
from reconciler.daemon.scheduling import Schedule
from reconciler.daemon.service import Daemon, DaemonConfig
from reconciler.targeting import Target, TargetOptions, open_target
from tests.integration.worlds import rule_usernames

COLLECTION = "e56c36e4-1063-11e6-a747-22000bf2d559"
WAIT_LIMIT = 10.0


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_specs(directory: Path, grants: dict[str, datetime]) -> None:
    """One collection and one grant per user (``user@example.org``, ``/disthome/user/``)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "collections.yaml").write_text(
        f"collections:\n  petrel:\n    id: {COLLECTION}\n    root: /disthome/\n"
    )
    lines = ["distributions:", "  - name: run42", "    collection: petrel", "    grants:"]
    for user, expires in grants.items():
        lines += [
            f"      - identity: {user}@example.org",
            f"        path: /disthome/{user}/",
            f"        expires: {iso(expires)}",
        ]
    if not grants:
        lines = ["distributions: []"]
    (directory / "grants.yaml").write_text("\n".join(lines) + "\n")


def world_rules(sandbox: Any) -> dict[str, str]:
    """Rules on the collection as ``{path: username}``."""
    return rule_usernames(sandbox.control.dump(), COLLECTION)


def wait_for(predicate: Callable[[], Any], *, limit: float = WAIT_LIMIT) -> Any:
    """Poll ``predicate`` every 20 ms until it returns something truthy (or fail)."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {limit}s: {predicate}")
        time.sleep(0.02)


@dataclass
class Kit:
    """The helpers above, handed to tests as a fixture (test modules here are not a
    package, so they cannot import this conftest)."""

    sandbox: Any
    collection: str = COLLECTION
    later: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(days=30))

    def write_specs(self, directory: Path, grants: dict[str, datetime]) -> None:
        write_specs(directory, grants)

    def rules(self) -> dict[str, str]:
        return world_rules(self.sandbox)

    def wait_for(self, predicate: Callable[[], Any], *, limit: float = WAIT_LIMIT) -> Any:
        return wait_for(predicate, limit=limit)


@pytest.fixture
def kit(sandbox: Any) -> Kit:
    return Kit(sandbox)


def make_fast(client: Any) -> None:
    """The SDK's retry policy with millisecond sleeps, so injected faults cost little."""
    client.retry_config.backoff = lambda _ctx: 0.01
    client.retry_config.max_sleep = 0.01


@dataclass
class Events:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in list(self.entries) if e["event"] == name]

    def finished(self) -> list[dict[str, Any]]:
        return [e for e in list(self.entries) if e["event"] in ("pass_finished", "pass_failed")]


@pytest.fixture
def events() -> Iterator[Events]:
    captured = Events()

    def capture(_logger: Any, method: str, event_dict: Any) -> Any:
        captured.entries.append({**event_dict, "level": method, "at": time.time()})
        raise structlog.DropEvent

    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, capture],
        wrapper_class=structlog.BoundLogger,
        cache_logger_on_first_use=False,
    )
    try:
        yield captured
    finally:
        structlog.configure(**saved)


@dataclass
class RunningDaemon:
    daemon: Daemon
    target: Target
    thread: threading.Thread
    exit_codes: list[int]

    def stop(self) -> int:
        self.daemon.signals.send(signal.SIGTERM)
        self.thread.join(timeout=WAIT_LIMIT)
        assert not self.thread.is_alive(), "the daemon did not stop"
        return self.exit_codes[0]


StartDaemon = Callable[..., RunningDaemon]


@pytest.fixture
def start_daemon(sandbox: Any, globus_env: dict[str, str], tmp_path: Path) -> Iterator[StartDaemon]:
    """``start_daemon(specs, watch=False, schedule=..., **config)`` runs a daemon on a
    thread against the fixture sandbox (``config``: more ``DaemonConfig`` fields); every
    one started is stopped at teardown."""
    started: list[RunningDaemon] = []
    stack: list[Any] = []

    def start(
        specs: Path,
        *,
        watch: bool = False,
        schedule: Schedule | None = None,
        metrics_address: str | None = None,
        **config: Any,
    ) -> RunningDaemon:
        context = open_target(TargetOptions(sandbox=True))
        target = context.__enter__()
        stack.append(context)
        for client in (target.clients.transfer, target.clients.groups, target.clients.auth):
            make_fast(client)
        daemon = Daemon(
            DaemonConfig(
                settings=PassSettings(paths=(specs,)),
                schedule=schedule or Schedule(resync=3600.0),
                suspend_file=tmp_path / "suspended",
                metrics_address=metrics_address,
                watch=watch,
                **config,
            ),
            target,
            environ={},
        )
        codes: list[int] = []
        thread = threading.Thread(
            target=lambda: codes.append(daemon.run(install_signals=False)), name="daemon"
        )
        thread.start()
        running = RunningDaemon(daemon, target, thread, codes)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            if running.thread.is_alive():
                running.stop()
        for context in reversed(stack):
            context.__exit__(None, None, None)
