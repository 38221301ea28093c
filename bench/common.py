"""Shared plumbing for the benchmarks: a sandbox in its own process (so it never competes
with the measured code for the GIL), synthetic spec sets, injected latency, API-call
counting from the sandbox's request log, and the tutorial-style sequential script the
reconciler is compared with.

Benchmarks print figures; they are not tests.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import globus_sdk
from globus_sdk.token_storage import MemoryTokenStorage

from reconciler.core.intent import Intent
from reconciler.credentials import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_credentials
from reconciler.globus.connecting import GlobusClients, connect
from reconciler.sandbox.control_client import SandboxControl
from reconciler.sandbox.embedded import sandbox_service_env
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.spec import load_spec_set

ROOT = "/disthome/"
EXPIRES = "2027-06-30"


def machine() -> str:
    arch = platform.processor() or platform.machine()
    return f"{arch}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sandbox:
    url: str
    control: SandboxControl

    def api_calls(self, since: int) -> list[dict[str, object]]:
        entries = self.control.request_log(since)["entries"]
        return [e for e in entries if "oauth2/token" not in str(e["path"])]

    def mark(self) -> int:
        return int(self.control.request_log()["next"])

    def set_latency(self, ms: int) -> None:
        self.control.clear_faults()
        if ms:
            self.control.inject_fault(path=".*", latency_ms=ms)


@contextlib.contextmanager
def sandbox_process() -> Iterator[Sandbox]:
    """``reconciler sandbox serve`` in a child process on a fresh database."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", str(port),
             "--db", str(Path(tmp) / "sandbox.db")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(f"{url}/_sandbox/health", timeout=1).close()
                    break
                time.sleep(0.05)
            os.environ.update(sandbox_service_env(url))
            os.environ["RECONCILER_SANDBOX_URL"] = url
            yield Sandbox(url, SandboxControl(url))
        finally:
            proc.terminate()
            proc.wait(10)


def collection_id(index: int) -> str:
    return f"e56c36e4-1063-11e6-a747-{index:012d}"


def principal(name: str, identities: str = "usernames") -> str:
    """A grant's identity: a username, or (``uuids``) a UUID derived from the name."""
    if identities == "uuids":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{name}"))
    return f"{name}@example.org"


def write_specs(
    directory: Path, *, grants: int, collections: int, identities: str = "usernames"
) -> Path:
    """``grants`` identity grants (by username, or by UUID) spread over ``collections``
    collections, each on a per-user directory under a per-distribution parent."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["collections:"]
    for c in range(collections):
        lines += [
            f"  c{c}:",
            f"    id: {collection_id(c)}",
            f"    root: {ROOT}",
            "    policy: {max_permissions: r, cleanup: true}",
        ]
    lines.append("distributions:")
    per = grants // collections
    for c in range(collections):
        lines += [
            f"  - name: d{c}",
            f"    collection: c{c}",
            "    path: /disthome/d{distribution}/{identity_id}/".replace("{distribution}", str(c)),
            "    grants:",
        ]
        for i in range(per):
            who = principal(f"user{c}-{i}", identities)
            lines += [f"      - identity: {who}", f"        expires: {EXPIRES}"]
    (directory / "bench.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def load_intent(directory: Path) -> Intent:
    result = load_spec_set([directory], now=datetime.now(UTC))
    if result.intent is None:
        raise SystemExit("\n".join(str(d) for d in result.diagnostics))
    return result.intent


def seed(sandbox: Sandbox, intent: Intent) -> None:
    seed_from_intent(sandbox.control, intent, client_id=SANDBOX_CLIENT_ID)


def reconciler_clients(rate: float) -> GlobusClients:
    return connect(sandbox_credentials(), rate=rate)


def sdk_clients() -> tuple[globus_sdk.TransferClient, globus_sdk.AuthClient]:
    """What a tutorial-style script builds: the SDK's clients, nothing else."""
    app = globus_sdk.ClientApp(
        "tutorial-script",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        config=globus_sdk.GlobusAppConfig(token_storage=MemoryTokenStorage()),
    )
    return globus_sdk.TransferClient(app=app), globus_sdk.AuthClient(app=app)


def run_sequential_script(intent: Intent) -> None:
    """The tutorial's way, per grant: look the user up (one identity call per user, as
    the tutorial does), mkdir (ignore Exists), then add the rule (ignore Exists)."""
    transfer, auth = sdk_clients()
    ids: dict[str, str] = {}
    made: set[tuple[str, str]] = set()
    for grant in intent.grants:
        ref = grant.principal.value
        if ref not in ids:
            if "@" in ref:
                found = auth.get_identities(usernames=ref)["identities"]
            else:
                found = auth.get_identities(ids=ref)["identities"]
            ids[ref] = found[0]["id"]
        identity = ids[ref]
        path = grant.path.replace("{identity_id}", identity).replace(
            "{distribution}", grant.distribution
        )
        parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
        for directory in (parent, path):
            if (grant.collection_id, directory) in made:
                continue
            try:
                transfer.operation_mkdir(grant.collection_id, directory)
            except globus_sdk.TransferAPIError as err:
                if "Exists" not in str(err.code):
                    raise
            made.add((grant.collection_id, directory))
        try:
            transfer.add_endpoint_acl_rule(
                grant.collection_id,
                {
                    "DATA_TYPE": "access",
                    "principal_type": "identity",
                    "principal": identity,
                    "path": path,
                    "permissions": "r",
                    "expiration_date": grant.expires.isoformat(),
                },
            )
        except globus_sdk.TransferAPIError as err:
            if err.code != "Exists":
                raise
