"""Transfer tasks the reconciler submits and follows: staging copies and their status.

Staging is idempotent by submission id: the caller reserves one in the state store
before submitting, and resubmitting the same id makes Globus run the task once.
"""

from __future__ import annotations

from dataclasses import dataclass

import globus_sdk

from reconciler.core.actions import StageData
from reconciler.globus.translating import translate

_CALL_ERRORS = (globus_sdk.GlobusAPIError, globus_sdk.NetworkError)


@dataclass(frozen=True, slots=True)
class TaskStatus:
    task_id: str
    status: str
    """``ACTIVE``, ``INACTIVE``, ``SUCCEEDED`` or ``FAILED``."""
    detail: str
    code: str | None = None
    """A failed task's ``fatal_error`` code (``PERMISSION_DENIED``, ...)."""


def fetch_submission_id(transfer: globus_sdk.TransferClient) -> str:
    try:
        return str(transfer.get_submission_id()["value"])
    except _CALL_ERRORS as err:
        raise translate(err, service="transfer") from err


def submit_staging(
    transfer: globus_sdk.TransferClient, action: StageData, submission_id: str
) -> str:
    """Copy the source into the grant's directory (checksum sync, verified); returns
    the task id, the same one for a resubmitted ``submission_id``."""
    data = globus_sdk.TransferData(
        action.source_collection_id,
        action.collection_id,
        label=f"reconciler staging {action.path}"[:128],
        submission_id=submission_id,
        sync_level="checksum",
        verify_checksum=True,
    )
    data.add_item(action.source_path, action.path, recursive=True)
    try:
        return str(transfer.submit_transfer(data)["task_id"])
    except _CALL_ERRORS as err:
        raise translate(err, service="transfer") from err


def fetch_task_status(transfer: globus_sdk.TransferClient, task_id: str) -> TaskStatus:
    try:
        doc = transfer.get_task(task_id)
    except _CALL_ERRORS as err:
        raise translate(err, service="transfer") from err
    fatal = doc.get("fatal_error")
    if isinstance(fatal, dict) and fatal.get("code"):
        code = str(fatal["code"])
        return TaskStatus(
            task_id, str(doc["status"]), f"{code}: {fatal.get('description') or ''}", code
        )
    detail = str(doc.get("nice_status_short_description") or doc.get("nice_status") or "")
    return TaskStatus(task_id, str(doc["status"]), detail)
