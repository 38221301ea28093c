"""Who downloaded what from a collection: the activity-monitor view of its task history.

Costs one paged ``endpoint_manager_task_list`` per watched collection per check (all
grantees at once, since a watermark), then ``successful_transfers`` only for new tasks
of watched grantees, and a directory listing only for grants with new downloads: never
a call per grant when nobody downloaded anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import globus_sdk

from reconciler.globus.reading import parse_time
from reconciler.globus.translating import translate

_CALL_ERRORS = (globus_sdk.GlobusAPIError, globus_sdk.NetworkError)


@dataclass(frozen=True, slots=True)
class DownloadTask:
    task_id: str
    owner_id: str
    completed: datetime | None


def fetch_download_tasks(
    transfer: globus_sdk.TransferClient, collection_id: str, *, since: datetime
) -> list[DownloadTask]:
    """Succeeded tasks that used ``collection_id`` as their source, completed at or
    after ``since`` (open-ended: Globus's clock decides what "now" is)."""
    window = f"{since.isoformat()},"
    try:
        pages = transfer.paginated.endpoint_manager_task_list(
            filter_endpoint=collection_id,
            filter_endpoint_use="source",
            filter_status="SUCCEEDED",
            filter_completion_time=window,
        )
        return [
            DownloadTask(
                str(doc["task_id"]),
                str(doc.get("owner_id") or ""),
                parse_time(doc.get("completion_time")),
            )
            for doc in pages.items()
        ]
    except _CALL_ERRORS as err:
        raise translate(err, service="transfer") from err


def fetch_transferred_files(transfer: globus_sdk.TransferClient, task_id: str) -> list[str]:
    """Source paths of the files the task transferred (directories are not listed)."""
    try:
        pages = transfer.paginated.endpoint_manager_task_successful_transfers(task_id)
        return [str(row["source_path"]) for row in pages.items()]
    except _CALL_ERRORS as err:
        raise translate(err, service="transfer") from err


def fetch_file_tree(transfer: globus_sdk.TransferClient, collection_id: str, path: str) -> set[str]:
    """Every file below ``path`` (full paths), walking directories with ``ls``."""
    files: set[str] = set()
    pending = [path]
    try:
        while pending:
            directory = pending.pop()
            for entry in transfer.operation_ls(collection_id, path=directory):
                name = str(entry["name"])
                if entry.get("type") == "dir":
                    pending.append(f"{directory}{name}/")
                else:
                    files.add(f"{directory}{name}")
    except _CALL_ERRORS as err:
        raise translate(err, service="transfer") from err
    return files
