"""Run the sandbox inside this process: ``start_sandbox`` serves a world from a database
file on a daemon thread and hands back its URL; ``sandbox_service_env`` gives the
``GLOBUS_SDK_SERVICE_URL_*`` variables that point globus-sdk and globus-cli at it.

Used by ``reconciler sandbox serve``, ``reconciler run --sandbox`` and the test fixtures.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.server import SandboxHTTPServer
from reconciler.sandbox.store import Store

SERVICES = ("TRANSFER", "GROUPS", "AUTH")


def sandbox_service_env(url: str) -> dict[str, str]:
    """The environment that sends the SDK's Transfer, Groups and Auth calls to ``url``."""
    base = url.rstrip("/") + "/"
    return {f"GLOBUS_SDK_SERVICE_URL_{name}": base for name in SERVICES}


class RunningSandbox:
    """A sandbox serving on a daemon thread; stop it with ``stop()`` or a ``with`` block."""

    def __init__(self, server: SandboxHTTPServer, store: Store, thread: threading.Thread) -> None:
        self._server = server
        self._store = store
        self._thread = thread
        self.app: SandboxApp = server.app
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        self.url = f"http://{shown}:{self.port}"
        self.db_path = store.path
        self._stopped = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(db_path: Path, *, port: int = 0, host: str = "127.0.0.1") -> RunningSandbox:
    """Open (or create) the world at ``db_path`` and serve it on ``host:port``
    (port 0 picks a free one). Raises OSError when the port is taken."""
    store = Store(Path(db_path))
    try:
        server = SandboxHTTPServer((host, port), SandboxApp(store))
    except BaseException:
        store.close()
        raise
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"reconciler-sandbox-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(server, store, thread)
