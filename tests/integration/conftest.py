"""Fixtures for every integration test: a sandbox over real HTTP and SDK clients built
the production way (``ClientApp`` + ``GLOBUS_SDK_SERVICE_URL_*``).

- ``sandbox``: a started sandbox on an ephemeral port with a fresh world in ``tmp_path``
  (``.url``, ``.control`` a ``SandboxControl``, ``.db_path``, ``.client_id``/
  ``.client_secret`` the test client, ``.restart()``, and the helpers
  ``add_managed_collection`` / ``add_managed_group`` that give the test client the
  roles the reconciler needs).
- ``globus_env``: the ``GLOBUS_SDK_SERVICE_URL_*`` and ``RECONCILER_SANDBOX_URL``
  variables set for that sandbox (the SDK reads them when a client is built).
- ``globus_app``, ``transfer_client``, ``groups_client``, ``auth_client``: SDK objects for
  the test client, with retry backoff shortened so injected faults cost milliseconds;
  ``app_factory(client_id=None)`` builds more apps (another client, no roles).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import globus_sdk
import pytest
from globus_sdk.scopes import GroupsScopes
from globus_sdk.token_storage import MemoryTokenStorage

from reconciler.sandbox.control_client import SandboxControl
from reconciler.sandbox.embedded import RunningSandbox, sandbox_service_env, start_sandbox

TEST_CLIENT_ID = "5a4d7e57-0000-4c11-8e47-7e57c11e4700"
TEST_CLIENT_SECRET = "sandbox-test-secret"
FAST_BACKOFF_SECONDS = 0.01


@dataclass
class SandboxHandle:
    running: RunningSandbox
    client_id: str = TEST_CLIENT_ID
    client_secret: str = TEST_CLIENT_SECRET
    control: SandboxControl = field(init=False)

    def __post_init__(self) -> None:
        self.control = SandboxControl(self.running.url)

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def db_path(self) -> Path:
        return self.running.db_path

    def restart(self) -> None:
        """Stop the server and serve the same world file again on the same port."""
        port = self.running.port
        self.running.stop()
        self.running = start_sandbox(self.db_path, port=port)
        self.control = SandboxControl(self.running.url)

    def add_managed_collection(
        self,
        collection_id: str | None = None,
        *,
        root: str = "/disthome/",
        display_name: str | None = None,
        roles: tuple[str, ...] = ("access_manager", "activity_monitor"),
    ) -> str:
        """A guest collection with ``root`` on which the test client holds ``roles``."""
        collection_id = collection_id or str(uuid.uuid4())
        self.control.add_client(self.client_id)
        self.control.add_collection(collection_id, display_name=display_name, roots=[root])
        for role in roles:
            self.control.grant_role(role, self.client_id, collection_id=collection_id)
        return collection_id

    def add_managed_group(
        self, group_id: str | None = None, *, name: str | None = None, role: str = "admin"
    ) -> str:
        """A group in which the test client has ``role`` (admin by default)."""
        group_id = group_id or str(uuid.uuid4())
        self.control.add_client(self.client_id)
        self.control.add_group(group_id, name=name)
        self.control.grant_role(role, self.client_id, group_id=group_id)
        return group_id


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    handle = SandboxHandle(start_sandbox(tmp_path / "sandbox.db"))
    try:
        yield handle
    finally:
        handle.running.stop()


@pytest.fixture
def globus_env(
    sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    # A state directory of the test's own: the state store must never be shared
    # between tests (nor written into the working directory).
    env = {
        **sandbox_service_env(sandbox.url),
        "RECONCILER_SANDBOX_URL": sandbox.url,
        "RECONCILER_STATE_DIR": str(tmp_path / "state"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GLOBUS_SDK_ENVIRONMENT", raising=False)
    return env


def make_fast(client: globus_sdk.BaseClient) -> None:
    """Keep the SDK's retry policy but shrink its sleeps to milliseconds."""
    client.retry_config.backoff = lambda _ctx: FAST_BACKOFF_SECONDS
    client.retry_config.max_sleep = FAST_BACKOFF_SECONDS


def make_app(sandbox: SandboxHandle, *, client_id: str | None = None) -> globus_sdk.ClientApp:
    """A ``ClientApp`` for ``client_id`` (default: the test client) against ``sandbox``;
    ``globus_env`` must be active so the SDK picks up the sandbox URLs."""
    return globus_sdk.ClientApp(
        "reconciler-tests",
        client_id=client_id or sandbox.client_id,
        client_secret=sandbox.client_secret,
        config=globus_sdk.GlobusAppConfig(token_storage=MemoryTokenStorage()),
    )


@pytest.fixture
def app_factory(
    sandbox: SandboxHandle, globus_env: dict[str, str]
) -> Iterator[Callable[..., globus_sdk.ClientApp]]:
    """``app_factory(client_id=None)`` builds more ``ClientApp`` objects (closed at teardown),
    e.g. for a second client that holds no roles."""
    apps: list[globus_sdk.ClientApp] = []

    def build(client_id: str | None = None) -> globus_sdk.ClientApp:
        app = make_app(sandbox, client_id=client_id)
        apps.append(app)
        return app

    try:
        yield build
    finally:
        for app in apps:
            app.close()


@pytest.fixture
def globus_app(
    sandbox: SandboxHandle, globus_env: dict[str, str]
) -> Iterator[globus_sdk.ClientApp]:
    app = make_app(sandbox)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def transfer_client(globus_app: globus_sdk.ClientApp) -> Iterator[globus_sdk.TransferClient]:
    client = globus_sdk.TransferClient(app=globus_app)
    make_fast(client)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def groups_client(globus_app: globus_sdk.ClientApp) -> Iterator[globus_sdk.GroupsClient]:
    client = globus_sdk.GroupsClient(app=globus_app, app_scopes=[GroupsScopes.all])
    make_fast(client)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def auth_client(globus_app: globus_sdk.ClientApp) -> Iterator[globus_sdk.AuthClient]:
    client = globus_sdk.AuthClient(app=globus_app)
    make_fast(client)
    try:
        yield client
    finally:
        client.close()
