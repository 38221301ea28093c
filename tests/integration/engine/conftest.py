"""Helpers for engine tests: spec files in a temporary directory, the reconciler's own
clients (built by ``reconciler.globus.connecting.connect``, as in production) pointed at
the fixture sandbox, and the CLI run as a contract through click's CliRunner."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.credentials import SANDBOX_CLIENT_ID, sandbox_credentials
from reconciler.globus.connecting import GlobusClients, connect
from reconciler.sandbox.control_client import SandboxControl
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.spec import load_spec_set
from tests.integration.worlds import find_collection

COLLECTION = "e56c36e4-1063-11e6-a747-22000bf2d559"
GROUP = "b4cada3a-af7c-11e3-8b90-1231391ccf32"
FAST = 0.01

COLLECTIONS_YAML = f"""
collections:
  tutorial:
    id: {COLLECTION}
    root: /disthome/
    policy: {{max_permissions: rw, max_duration: 730d, cleanup: true}}
"""

ONE_GRANT = """
distributions:
  - name: users
    collection: tutorial
    path: /disthome/{identity_id}/
    grants:
      - identity: alice@example.org
        expires: 2027-06-30
"""
"""One per-user grant to alice, the smallest spec that makes a rule and a directory."""


def groups_yaml(mode: str = "additive") -> str:
    return f"""
groups:
  tutorial-users:
    id: {GROUP}
    members: {mode}
"""


@dataclass
class World:
    """A spec directory plus the sandbox it is reconciled against."""

    specs: Path
    control: SandboxControl
    url: str

    def write(self, name: str, text: str) -> Path:
        path = self.specs / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(cli, [*args], catch_exceptions=False)

    def clients(self) -> GlobusClients:
        """The reconciler's clients with the SDK's retry sleeps cut to milliseconds."""
        clients = connect(sandbox_credentials())
        for client in (clients.transfer, clients.groups, clients.auth):
            client.retry_config.backoff = lambda _ctx: FAST
            client.retry_config.max_sleep = FAST
        return clients

    def intent(self, now: datetime | None = None):  # type: ignore[no-untyped-def]
        result = load_spec_set([self.specs], now=now or datetime.now(UTC))
        assert result.intent is not None, [str(d) for d in result.diagnostics]
        return result.intent

    def collection(self) -> dict[str, Any]:
        """The tutorial collection's dump (empty when it was never seeded)."""
        return find_collection(self.control.dump(), COLLECTION)

    def rules(self) -> list[dict[str, Any]]:
        """Non-role access rules, as the sandbox holds them."""
        return list(self.collection()["rules"])

    def directories(self) -> set[str]:
        """Directory paths in the collection's tree, written with a trailing ``/``."""
        return {
            e["path"].rstrip("/") + "/" for e in self.collection()["tree"] if e["type"] == "dir"
        }

    def members(self) -> dict[str, tuple[str, str]]:
        """identity id -> (role, status) in the tutorial group."""
        group = next(g for g in self.control.dump()["groups"] if g["id"] == GROUP)
        return {m["identity_id"]: (m["role"], m["status"]) for m in group["memberships"]}

    def identity(self, username: str) -> str:
        return str(self.control.add_identity(username)["id"])

    def api_calls(self, since: int) -> list[dict[str, object]]:
        entries = self.control.request_log(since)["entries"]
        return [e for e in entries if "oauth2/token" not in str(e["path"])]


@pytest.fixture
def world(sandbox: object, globus_env: dict[str, str], tmp_path: Path) -> World:
    specs = tmp_path / "specs"
    specs.mkdir()
    handle = sandbox
    w = World(specs, handle.control, handle.url)  # type: ignore[attr-defined]
    w.write("collections.yaml", COLLECTIONS_YAML)
    w.write("groups.yaml", groups_yaml())
    return w


@pytest.fixture
def seeded(world: World) -> Callable[[], None]:
    """Seed the sandbox from the current specs, as ``--sandbox`` commands do."""

    def seed() -> None:
        seed_from_intent(world.control, world.intent(), client_id=SANDBOX_CLIENT_ID)

    return seed
