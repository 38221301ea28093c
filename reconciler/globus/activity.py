"""Who downloaded what from a collection: the activity-monitor view of its task history.

Costs one paged ``endpoint_manager_task_list`` per watched collection per check (all
grantees at once, since a watermark), then ``successful_transfers`` only for new tasks
of watched grantees, and a directory listing only for grants with new downloads: never
a call per grant when nobody downloaded anything. Only ``TRANSFER`` tasks count: a
grantee's ``DELETE`` task reads nothing out.

Times sent in ``filter_completion_time`` are whole seconds, ``YYYY-MM-DDTHH:MM:SS`` in
UTC, the form Transfer documents (a strict server refuses fractions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import globus_sdk

from reconciler.globus.reading import parse_time
from reconciler.globus.translating import translate

_CALL_ERRORS = (globus_sdk.GlobusAPIError, globus_sdk.NetworkError)


@dataclass(frozen=True, slots=True)
class DownloadTask:
    task_id: str
    owner_id: str
    completed: datetime | None
    host_path: str | None = None
    """The task's ``source_host_path``: where the guest collection's root lies on the
    mapped collection beneath it, in case its files are reported in that namespace."""


def format_window_start(since: datetime) -> str:
    """``since`` as Transfer documents a ``filter_completion_time`` bound: whole seconds,
    UTC, no offset. Rounded down, so nothing completed in that second is missed."""
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def fetch_download_tasks(
    transfer: globus_sdk.TransferClient,
    collection_id: str,
    *,
    since: datetime,
    owner_id: str | None = None,
) -> list[DownloadTask]:
    """Succeeded transfer tasks that used ``collection_id`` as their source, completed at
    or after ``since`` (open-ended: Globus's clock decides what "now" is). With
    ``owner_id``, only that identity's tasks, which in Transfer includes the tasks of
    every identity linked with it; an identity Transfer has never seen has none."""
    try:
        pages = transfer.paginated.endpoint_manager_task_list(
            filter_endpoint=collection_id,
            filter_endpoint_use="source",
            filter_status="SUCCEEDED",
            filter_completion_time=f"{format_window_start(since)},",
            filter_owner_id=globus_sdk.MISSING if owner_id is None else owner_id,
        )
        return [
            DownloadTask(
                str(doc["task_id"]),
                str(doc.get("owner_id") or ""),
                parse_time(doc.get("completion_time")),
                str(doc["source_host_path"]) if doc.get("source_host_path") else None,
            )
            for doc in pages.items()
            if doc.get("type") == "TRANSFER"
        ]
    except _CALL_ERRORS as err:
        translated = translate(err, service="transfer")
        if owner_id is not None and translated.code == "UserNotFound":
            return []  # never used Transfer: downloaded nothing
        raise translated from err


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
