"""Fixtures for the shared-store scenarios: ``reconciler run`` and ``reconciler
plan/apply`` as real processes, each in a directory of its own (its own working and
state directory, as on another host or a CI runner), all on the fixture sandbox over
HTTP and on one PostgreSQL store.

- ``shared``: a ``Shared`` kit: the spec directory, the store URL, ``daemon()`` to start
  a daemon process, ``cli()`` to run a command as a process, and views of the sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.state import JournalQuery, open_store
from tests.integration.worlds import find_collection
from tests.reliability.polling import http_get, metric, metric_sum, wait_for

COLLECTION = "e56c36e4-1063-11e6-a747-22000bf2d559"
MUTATING = ("POST", "PUT", "DELETE")

COLLECTIONS_YAML = f"""
collections:
  tutorial:
    id: {COLLECTION}
    root: /disthome/
    policy: {{max_permissions: r, max_duration: 730d, cleanup: true}}
"""


def grants_yaml(users: list[str], *, revoke_after_download: bool = False) -> str:
    lines = ["distributions:", "  - name: shared", "    collection: tutorial", "    grants:"]
    for user in users:
        lines += [
            f"      - identity: {user}@example.org",
            f"        path: /disthome/{user}/",
            "        expires: 2027-06-30",
        ]
        if revoke_after_download:
            lines.append("        revoke_after_download: true")
    return "\n".join(lines) + "\n" if users else "distributions: []\n"


@dataclass
class DaemonProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line being written
        return found

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"] == event]

    def wait_event(self, event: str, *, limit: float = 30.0, count: int = 1) -> dict[str, Any]:
        found: list[dict[str, Any]] = wait_for(
            lambda: len(self.named(event)) >= count and self.named(event),
            limit=limit,
            what=f"{self.name} logs {event} x{count}\n{self.log_path.read_text()[-3000:]}",
        )
        return found[count - 1]

    @property
    def metrics_url(self) -> str:
        return str(self.wait_event("daemon_started")["metrics"])

    def metric(self, name: str, **labels: str) -> float:
        status, text = http_get(f"{self.metrics_url}/metrics")
        assert status == 200, text
        return metric(text, name, **labels)

    def metric_sum(self, name: str) -> float:
        status, text = http_get(f"{self.metrics_url}/metrics")
        assert status == 200, text
        return metric_sum(text, name)

    def get(self, path: str) -> tuple[int, str]:
        return http_get(f"{self.metrics_url}{path}")

    def leading(self) -> bool:
        return self.metric("reconciler_leader") == 1.0

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


@dataclass
class Shared:
    sandbox: Any
    globus_env: dict[str, str]
    root: Path
    store_url: str
    specs: Path = field(init=False)
    daemons: list[DaemonProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.specs = self.root / "specs"
        self.specs.mkdir()
        self.write("collections.yaml", COLLECTIONS_YAML)

    def write(self, name: str, text: str) -> None:
        path = self.specs / name
        staged = path.with_suffix(".tmp")
        staged.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        staged.replace(path)  # atomic, as a git checkout's rename

    def env(self, home: Path) -> dict[str, str]:
        return {
            **os.environ,
            **self.globus_env,
            "RECONCILER_STATE_DIR": str(home / "state"),
            "RECONCILER_STATE_DB": self.store_url,
            "RECONCILER_LOG_FORMAT": "json",
        }

    def home(self, name: str) -> Path:
        home = self.root / name
        home.mkdir(exist_ok=True)
        return home

    def daemon(self, name: str, *extra: str, specs: Path | None = None) -> DaemonProcess:
        home = self.home(name)
        log_path = home / "daemon.log"
        command = [sys.executable, "-m", "reconciler", "run", "--sandbox", str(specs or self.specs)]
        command += ["--metrics-address", "127.0.0.1:0", "--resync", "3600", *extra]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=home, env=self.env(home), stdout=log, stderr=subprocess.STDOUT
            )
        running = DaemonProcess(name, process, log_path)
        self.daemons.append(running)
        return running

    def cli(
        self, name: str, *args: str, shared_store: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """``python -m reconciler ARGS`` in the directory ``name`` (its own state dir);
        without ``shared_store`` it uses that directory's own SQLite store."""
        home = self.home(name)
        env = self.env(home)
        if not shared_store:
            env.pop("RECONCILER_STATE_DB")
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_cli(self, name: str, *args: str) -> subprocess.Popen[str]:
        home = self.home(name)
        return subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            cwd=home,
            env=self.env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # --- the sandbox, seen from outside -----------------------------------------------
    def rules(self) -> dict[str, str]:
        """{path: principal} of the collection's rules."""
        rules = find_collection(self.sandbox.control.dump(), COLLECTION)["rules"]
        return {r["path"]: r["principal"] for r in rules}

    def mark(self) -> int:
        return int(self.sandbox.control.request_log()["next"])

    def writes(self, since: int) -> list[dict[str, Any]]:
        """Globus API writes (no token requests, no control plane) since ``since``."""
        return [
            e
            for e in self.sandbox.control.request_log(since)["entries"]
            if e["method"] in MUTATING and "oauth2" not in str(e["path"])
        ]

    def journal_events(self) -> list[str]:
        store = open_store(self.store_url)
        try:
            return [e.event for e in store.read_journal(JournalQuery())]
        finally:
            store.close()

    def wait_rules(self, paths: set[str], *, limit: float = 30.0) -> float:
        """Wait until the rules are exactly ``paths``; the seconds it took."""
        started = time.monotonic()
        wait_for(
            lambda: set(self.rules()) == paths,
            limit=limit,
            what=f"rules {sorted(paths)} (have {sorted(self.rules())})",
        )
        return time.monotonic() - started


@contextmanager
def shared_kit(
    sandbox: Any, globus_env: dict[str, str], tmp_path: Path, store_url: str
) -> Iterator[Shared]:
    """A ``Shared`` on ``store_url`` whose daemons still running at the end are killed,
    whether the test passed or not."""
    kit = Shared(sandbox, globus_env, tmp_path, store_url)
    try:
        yield kit
    finally:
        for daemon in kit.daemons:
            if daemon.process.poll() is None:
                daemon.process.kill()
                daemon.process.wait()


@pytest.fixture
def shared(
    sandbox: Any, globus_env: dict[str, str], tmp_path: Path, pg_url: str
) -> Iterator[Shared]:
    with shared_kit(sandbox, globus_env, tmp_path, pg_url) as kit:
        yield kit


StartDaemon = Callable[..., DaemonProcess]
