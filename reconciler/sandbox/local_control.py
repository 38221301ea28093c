"""``LocalControl``: the control-plane operations applied directly to a database file.

For ``reconciler sandbox`` commands run without ``--url`` (no server needed) and for
seeding before a server starts. It shares the operations of ``steering.py`` and
``dumping.py`` with the HTTP routes in ``control.py``, settles the world first, and
offers the ``ControlPlane`` interface. Faults and the request log live in a running
server's memory, so they are not offered here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from reconciler.sandbox import clock, dumping, settings, settling, steering
from reconciler.sandbox.control_client import merge_seed
from reconciler.sandbox.store import Store

T = TypeVar("T")


class LocalControl:
    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._store = Store(self.db_path)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> LocalControl:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, op: Callable[[sqlite3.Connection, float], T]) -> T:
        with self._store.transaction() as conn:
            now = clock.now(conn)
            settling.settle(conn, now)
            return op(conn, now)

    def seed(self, doc: Mapping[str, Any] | None = None, /, **sections: Any) -> dict[str, Any]:
        merged = merge_seed(doc, sections)
        return self._run(lambda conn, now: steering.apply_seed(conn, merged, now))

    def reset(self) -> None:
        self._run(lambda conn, now: steering.reset_world(conn))

    def dump(self) -> dict[str, Any]:
        return self._run(dumping.dump_world)

    def simulate_download(
        self,
        identity: str,
        collection_id: str,
        path: str,
        *,
        files: Iterable[str] | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"identity": identity, "collection_id": collection_id, "path": path}
        if files is not None:
            spec["files"] = list(files)
        if count is not None:
            spec["count"] = count
        return self._run(lambda conn, now: steering.simulate_download(conn, spec, now))

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._run(lambda conn, now: steering.move_clock(conn, {"advance": seconds}))

    def set_clock(self, when: datetime | str) -> dict[str, Any]:
        value = when.isoformat() if isinstance(when, datetime) else when
        return self._run(lambda conn, now: steering.move_clock(conn, {"set": value}))

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        def op(conn: sqlite3.Connection, now: float) -> dict[str, Any]:
            settings.update(conn, changes)
            return dumping.settings_doc(conn)

        return self._run(op)
