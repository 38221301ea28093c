"""``reconciler state export | import``: a store's rows as JSON lines, to move a SQLite
store into PostgreSQL (or back). The first line names the format and the schema
version; each following line is ``{"table": ..., "row": {...}}``, times in ISO 8601.

Import is all or nothing (one transaction), only into an empty store at the same
schema version, and keeps the journal's order. Nothing here knows a table's meaning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.state.backend import Backend, Writer
from reconciler.state.store import decode_time

FORMAT = "reconciler-state"


@dataclass(frozen=True, slots=True)
class ExportedTable:
    name: str
    order_by: str
    times: tuple[str, ...] = ()
    generated: tuple[str, ...] = ()
    """Columns the target numbers itself (the journal's sequence): not exported."""


EXPORTED_TABLES: tuple[ExportedTable, ...] = (
    ExportedTable("stagings", "key", ("next_attempt", "updated")),
    ExportedTable("consumed", "key", ("at",)),
    ExportedTable("made_directories", "collection_id, path", ("at",)),
    ExportedTable("pending_directories", "collection_id, path", ("at",)),
    ExportedTable("removals", "collection_id, path", ("at",)),
    ExportedTable("downloads", "key, file"),
    ExportedTable("download_tasks", "task_id"),
    ExportedTable("watermarks", "collection_id", ("checked_until",)),
    ExportedTable("member_refusals", "group_id, identity_id", ("at",)),
    ExportedTable("scheduled_removals", "collection_id, path", ("due", "at")),
    ExportedTable("spec_inventory", "file", ("at",)),
    ExportedTable("journal", "seq", ("at",), generated=("seq",)),
)
_BY_NAME = {t.name: t for t in EXPORTED_TABLES}
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


class ExportFormatError(ValueError):
    """A line of the input is not what ``state export`` writes; names the line."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = decode_time(value)
        return moment.isoformat() if moment else None
    return value


def render_export(backend: Backend) -> Iterator[str]:
    """Every row of every table, as JSON lines (header first)."""
    header = {"format": FORMAT, "schema_version": backend.schema_version()}
    yield json.dumps(header)
    for table in EXPORTED_TABLES:
        for row in backend.read(f"SELECT * FROM {table.name} ORDER BY {table.order_by}"):
            kept = {k: _encode(v) for k, v in row.items() if k not in table.generated}
            yield json.dumps({"table": table.name, "row": kept}, ensure_ascii=False)


def count_rows(backend: Backend) -> int:
    return sum(
        int(backend.read(f"SELECT count(*) AS n FROM {t.name}")[0]["n"]) for t in EXPORTED_TABLES
    )


def _parse(
    lines: Iterable[str], *, source: str
) -> tuple[dict[str, Any], list[tuple[int, str, dict[str, Any]]]]:
    header: dict[str, Any] | None = None
    rows: list[tuple[int, str, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise ExportFormatError(f"{where}: not JSON ({err.msg})") from err
        if not isinstance(item, dict):
            raise ExportFormatError(f"{where}: expected a JSON object")
        if header is None:
            if item.get("format") != FORMAT or not isinstance(item.get("schema_version"), int):
                raise ExportFormatError(
                    f"{where}: not a `reconciler state export` (its first line names the "
                    f"format {FORMAT!r} and the schema version)"
                )
            header = item
            continue
        table, row = item.get("table"), item.get("row")
        if table not in _BY_NAME or not isinstance(row, dict):
            raise ExportFormatError(
                f'{where}: expected {{"table": <a store table>, "row": {{...}}}}'
            )
        bad = [c for c in row if not isinstance(c, str) or not _COLUMN.match(c)]
        if bad:
            raise ExportFormatError(f"{where}: {bad[0]!r} is not a column name")
        rows.append((number, str(table), row))
    if header is None:
        raise ExportFormatError(f"{source}: empty: nothing to import")
    return header, rows


def apply_import(backend: Backend, lines: Iterable[str], *, source: str) -> int:
    """Load an export into ``backend`` (empty, same schema version); the rows loaded."""
    header, rows = _parse(lines, source=source)
    version = backend.schema_version()
    if header["schema_version"] != version:
        raise ExportFormatError(
            f"{source}: exported at schema version {header['schema_version']}, but the target "
            f"store is at {version}: export and import with the same reconciler version"
        )
    present = count_rows(backend)
    if present:
        raise ExportFormatError(
            f"the target store {backend.display} already holds {present} row(s): "
            "import only into a new, empty store"
        )

    def load(w: Writer) -> None:
        # Consecutive rows of one table and shape go in one batch; order is kept.
        batches: list[tuple[str, tuple[str, ...], list[list[object]]]] = []
        for _number, table, row in rows:
            spec = _BY_NAME[table]
            columns = tuple(c for c in row if c not in spec.generated)
            values = [decode_time(row[c]) if c in spec.times else row[c] for c in columns]
            if batches and batches[-1][:2] == (table, columns):
                batches[-1][2].append(values)
            else:
                batches.append((table, columns, [values]))
        for table, columns, values_list in batches:
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            w.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", values_list)

    backend.write(load)
    return len(rows)
