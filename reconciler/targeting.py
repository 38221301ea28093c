"""Which Globus a command talks to: production (credentials from the environment) or
the sandbox (``--sandbox``). The sandbox differs only in the service URLs the SDK is
given and in being seeded with what the specs refer to; the code path is the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.intent import Intent
from reconciler.credentials import (
    SANDBOX_CLIENT_ID,
    ClientCredentials,
    Credentials,
    load_credentials,
    sandbox_credentials,
)
from reconciler.errors import ConfigurationError, GlobusError
from reconciler.globus.connecting import DEFAULT_RATE, GlobusClients, connect
from reconciler.globus.retrying import OnRetry
from reconciler.globus.throttling import RateLimiter, budget_file
from reconciler.private import make_private_dir
from reconciler.sandbox.control_client import SandboxControl, SandboxControlError
from reconciler.sandbox.embedded import sandbox_service_env, start_sandbox
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.state import (
    SqliteLocation,
    StateStore,
    StoreLocation,
    open_store,
    parse_location,
)

STATE_DIR_ENV = "RECONCILER_STATE_DIR"


def sandbox_db_path() -> Path:
    return Path(os.environ.get("RECONCILER_SANDBOX_DB") or ".reconciler/sandbox.db")


def state_dir() -> Path:
    """Where tokens and the state store live: ``$RECONCILER_STATE_DIR``, systemd's
    ``$STATE_DIRECTORY``, else ``.reconciler/`` in the working directory. Made private
    (0700) whenever a command opens it (``open_target``)."""
    for name in (STATE_DIR_ENV, "STATE_DIRECTORY"):
        if os.environ.get(name):
            return Path(os.environ[name].split(":")[0])
    return Path(".reconciler")


@dataclass(frozen=True, slots=True)
class TargetOptions:
    sandbox: bool = False
    secret_file: Path | None = None
    rate: float = DEFAULT_RATE
    state_db: str | None = None
    """``--state-db`` / ``$RECONCILER_STATE_DB``: a path or a PostgreSQL URL."""
    on_retry: OnRetry | None = None
    """Told about each retry of a Globus request (the CLI prints it, the daemon logs it)."""


def state_location(options: TargetOptions) -> StoreLocation:
    """The state store: ``--state-db`` (a file, or PostgreSQL shared by every process
    acting on the target), else ``state.db`` in the state directory, or
    ``sandbox-state.db`` for the sandbox, so sandbox facts never mix with production."""
    if options.state_db:
        return parse_location(options.state_db)
    return SqliteLocation(state_dir() / ("sandbox-state.db" if options.sandbox else "state.db"))


@dataclass
class Target:
    clients: GlobusClients
    sandbox_url: str | None
    store: StateStore

    def seed(self, intent: Intent) -> None:
        """In sandbox mode, make the collections, groups and identities the specs
        name exist (idempotent); in production, nothing. An unreachable or refusing
        sandbox is a ``GlobusError``, as an unreachable Globus would be: the command
        exits 1 with one line and the daemon's pass fails and is retried, no traceback."""
        if self.sandbox_url is None:
            return
        try:
            seed_from_intent(SandboxControl(self.sandbox_url), intent, client_id=SANDBOX_CLIENT_ID)
        except (SandboxControlError, OSError) as err:  # URLError is an OSError
            raise GlobusError(
                f"cannot seed it at {self.sandbox_url}: {getattr(err, 'reason', err)}",
                service="sandbox",
                retryable=True,
            ) from err


def shared_limiter(credentials: Credentials, rate: float) -> RateLimiter:
    """The rate limiter every process of this client using this state directory shares
    (a daemon and a CI ``apply`` on one host draw on the one budget Globus meters)."""
    client = (
        credentials.client_id
        if isinstance(credentials, ClientCredentials)
        else credentials.identity_id or "tokens"
    )
    return RateLimiter(rate, shared=budget_file(state_dir(), client))


@contextmanager
def open_target(options: TargetOptions) -> Iterator[Target]:
    if not options.sandbox or options.state_db is None:
        make_private_dir(state_dir())
    if not options.sandbox:
        credentials = load_credentials(secret_file=options.secret_file)
        store = open_store(state_location(options))
        clients = connect(
            credentials,
            rate=options.rate,
            token_cache=state_dir() / "tokens.json",
            on_retry=options.on_retry,
            limiter=shared_limiter(credentials, options.rate),
        )
        try:
            yield Target(clients, None, store)
        finally:
            clients.close()
            store.close()
        return
    url = os.environ.get("RECONCILER_SANDBOX_URL")
    running = None if url else start_sandbox(sandbox_db_path())
    url = url or running.url  # type: ignore[union-attr]
    os.environ.update(sandbox_service_env(url))
    sandbox = sandbox_credentials()
    clients = connect(
        sandbox,
        rate=options.rate,
        on_retry=options.on_retry,
        # With its own --state-db a sandbox run leaves nothing in the state directory.
        limiter=shared_limiter(sandbox, options.rate) if options.state_db is None else None,
    )
    store = open_store(state_location(options))
    try:
        yield Target(clients, url, store)
    finally:
        clients.close()
        store.close()
        if running is not None:
            running.stop()


@dataclass(frozen=True, slots=True)
class Connection:
    credentials: Credentials
    clients: GlobusClients
    sandbox_url: str | None


@contextmanager
def open_connection(options: TargetOptions) -> Iterator[Connection]:
    """Credentials and clients with tokens in memory only, no token cache and no state
    store: for commands that must leave nothing behind (``doctor``, ``probe``). The
    sandbox is used as it is, never seeded."""
    running = None
    url: str | None = None
    if options.sandbox:
        url = os.environ.get("RECONCILER_SANDBOX_URL")
        if not url and not sandbox_db_path().exists():
            raise ConfigurationError(
                f"there is no sandbox at {sandbox_db_path()} to check (nothing was created): "
                "any --sandbox plan or apply makes and seeds one; or set "
                "RECONCILER_SANDBOX_URL (or RECONCILER_SANDBOX_DB) to the sandbox to use"
            )
        if not url:
            running = start_sandbox(sandbox_db_path())
            url = running.url
        os.environ.update(sandbox_service_env(url))
        credentials: Credentials = sandbox_credentials()
    else:
        credentials = load_credentials(secret_file=options.secret_file)
    clients = connect(credentials, rate=options.rate, on_retry=options.on_retry)
    try:
        yield Connection(credentials, clients, url)
    finally:
        clients.close()
        if running is not None:
            running.stop()
