"""The store's schema as numbered migrations: ``migrations/<dialect>/NNNN_name.sql``, one
file per version and backend, the same logical schema in each dialect. Each backend
applies them in order, once, in one transaction under a lock, recording the version in
``schema_migrations``; a store newer than this code is refused.

To add a table: one ``NNNN_*.sql`` file per dialect, its rows in ``EXPORTED_TABLES`` of
``reconciler.state.exporting`` if they should move with ``state export``, and the
store's methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from reconciler.state.backend import Dialect, StateStoreError

HISTORY_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def statements(self) -> list[str]:
        return split_statements(self.sql)


def split_statements(sql: str) -> list[str]:
    """Statements end with ``;`` at the end of a line (migrations keep semicolons out of
    literals); ``--`` comment lines are dropped."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]


@cache
def load_migrations(dialect: Dialect) -> tuple[Migration, ...]:
    folder = resources.files("reconciler.state").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.removesuffix(".sql").partition("_")
        found.append(Migration(int(number), rest, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise AssertionError(f"migrations for {dialect} are not numbered 1..n: {found}")
    return tuple(found)


def compute_pending(dialect: Dialect, applied: set[int], *, display: str) -> tuple[Migration, ...]:
    """The migrations still to apply, or an error when the store is newer than this code."""
    known = load_migrations(dialect)
    latest = known[-1].version
    newer = sorted(v for v in applied if v > latest)
    if newer:
        raise StateStoreError(
            f"the state store {display} has schema version {newer[-1]}, newer than this "
            f"reconciler knows ({latest}): upgrade reconciler before using this store"
        )
    return tuple(m for m in known if m.version not in applied)


def latest_version(dialect: Dialect) -> int:
    return load_migrations(dialect)[-1].version
