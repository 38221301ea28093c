"""Submitting transfer and delete tasks: submission ids, ``POST /transfer`` and
``POST /delete``.

A submission is validated, stored as an ``ACTIVE`` task and handed to the scheduler
(started or queued). Resubmitting a submission id returns the original task with code
``Duplicate``. This module must not run tasks or list them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from reconciler.sandbox import clock, transfer_fs, transfer_mapped
from reconciler.sandbox.routing import (
    TRANSFER_RS,
    ApiError,
    Caller,
    Request,
    Response,
    Route,
    ok,
    route,
)
from reconciler.sandbox.transfer_endpoints import collection_row
from reconciler.sandbox.transfer_scheduling import start_or_queue
from reconciler.sandbox.transfer_tasks import task_row

_SYNC_LEVELS = {"exists": 0, "size": 1, "mtime": 2, "checksum": 3}


def get_submission_id(req: Request) -> Response:
    caller = req.require_caller()
    value = str(uuid.uuid4())
    req.conn.execute(
        "INSERT INTO submission_ids (id, issued_to, issued_at) VALUES (?, ?, ?)",
        (value, caller.identity_id, req.now),
    )
    return ok({"DATA_TYPE": "submission_id", "value": value})


def _submission_result(
    req: Request, data_type: str, row: sqlite3.Row, *, duplicate: bool
) -> Response:
    kind = "transfer" if data_type == "transfer_result" else "delete"
    task_id = str(row["task_id"])
    return ok(
        {
            "DATA_TYPE": data_type,
            "code": "Duplicate" if duplicate else "Accepted",
            "message": (
                f"A {kind} with this submission id was already accepted"
                if duplicate
                else f"The {kind} has been accepted and a task has been created and queued"
                " for execution"
            ),
            "request_id": req.request_id,
            "resource": req.resource(),
            "submission_id": row["submission_id"],
            "task_id": task_id,
            "task_link": {
                "DATA_TYPE": "link",
                "href": f"/v0.10/task/{task_id}?format=json",
                "rel": "related",
                "resource": "task",
                "title": "related task",
            },
        },
        status=200 if duplicate else 202,
    )


def _check_label(label: Any) -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or len(label) > 128 or label != label.strip() or "\n" in label:
        raise ApiError(400, "ClientError.BadRequest", "label must be at most 128 characters")
    return label


def _existing_submission(req: Request, body: dict[str, Any]) -> tuple[str, sqlite3.Row | None]:
    submission_id = body.get("submission_id")
    if not isinstance(submission_id, str) or not submission_id:
        raise ApiError(400, "ClientError.BadRequest", "submission_id is required")
    row: sqlite3.Row | None = req.conn.execute(
        "SELECT * FROM tasks WHERE submission_id = ?", (submission_id,)
    ).fetchone()
    return submission_id, row


def _insert_task(
    req: Request,
    caller: Caller,
    *,
    kind: str,
    submission_id: str,
    source: str | None,
    destination: str | None,
    items: list[dict[str, Any]],
    extra: dict[str, Any],
) -> sqlite3.Row:
    task_id = str(uuid.uuid4())
    req.conn.execute(
        "INSERT INTO tasks (task_id, submission_id, type, owner_id, status, source_endpoint_id,"
        " destination_endpoint_id, request_time, items, doc) VALUES (?, ?, ?, ?, 'ACTIVE', ?, ?,"
        " ?, ?, ?)",
        (
            task_id,
            submission_id,
            kind,
            caller.identity_id,
            source,
            destination,
            req.now,
            json.dumps(items),
            json.dumps(extra),
        ),
    )
    start_or_queue(req.conn, task_id, caller.identity_id, kind, req.now)
    return task_row(req.conn, task_id)


def submit_transfer(req: Request) -> Response:
    caller = req.require_caller()
    body = req.json_object()
    if body.get("DATA_TYPE", "transfer") != "transfer":
        raise ApiError(400, "ClientError.BadRequest", "DATA_TYPE must be 'transfer'")
    submission_id, existing = _existing_submission(req, body)
    if existing is not None:
        return _submission_result(req, "transfer_result", existing, duplicate=True)
    source = str(collection_row(req.conn, str(body.get("source_endpoint")))["id"])
    destination = str(collection_row(req.conn, str(body.get("destination_endpoint")))["id"])
    transfer_mapped.require_consent(req.conn, caller, (source, destination))
    raw_items = body.get("DATA")
    if not isinstance(raw_items, list) or not raw_items:
        raise ApiError(
            400,
            "ClientError.BadRequest.NoTransferItems",
            "A transfer requires at least one item",
        )
    items: list[dict[str, Any]] = []
    for raw in raw_items:
        if not isinstance(raw, dict) or raw.get("DATA_TYPE", "transfer_item") != "transfer_item":
            raise ApiError(
                400, "ClientError.BadRequest", "DATA items must be transfer_item objects"
            )
        items.append(
            {
                "source_path": transfer_fs.normalize(raw.get("source_path")),
                "destination_path": transfer_fs.normalize(raw.get("destination_path")),
                "recursive": bool(raw.get("recursive")),
            }
        )
    sync_level = body.get("sync_level")
    if isinstance(sync_level, str):
        sync_level = _SYNC_LEVELS.get(sync_level)
    if sync_level not in (None, 0, 1, 2, 3):
        raise ApiError(400, "ClientError.BadRequest", "sync_level must be 0-3")
    extra = {
        "label": _check_label(body.get("label")),
        "sync_level": sync_level,
        "deadline": _optional_time(body.get("deadline")),
        **{
            flag: bool(body.get(flag))
            for flag in (
                "verify_checksum",
                "encrypt_data",
                "preserve_timestamp",
                "delete_destination_extra",
                "skip_source_errors",
                "fail_on_quota_errors",
            )
        },
    }
    row = _insert_task(
        req,
        caller,
        kind="TRANSFER",
        submission_id=submission_id,
        source=source,
        destination=destination,
        items=items,
        extra=extra,
    )
    return _submission_result(req, "transfer_result", row, duplicate=False)


def submit_delete(req: Request) -> Response:
    caller = req.require_caller()
    body = req.json_object()
    if body.get("DATA_TYPE", "delete") != "delete":
        raise ApiError(400, "ClientError.BadRequest", "DATA_TYPE must be 'delete'")
    submission_id, existing = _existing_submission(req, body)
    if existing is not None:
        return _submission_result(req, "delete_result", existing, duplicate=True)
    endpoint = str(collection_row(req.conn, str(body.get("endpoint")))["id"])
    raw_items = body.get("DATA")
    if not isinstance(raw_items, list) or not raw_items:
        raise ApiError(
            400, "ClientError.BadRequest.NoDeleteItems", "A delete requires at least one item"
        )
    items: list[dict[str, Any]] = []
    for raw in raw_items:
        if not isinstance(raw, dict) or raw.get("DATA_TYPE", "delete_item") != "delete_item":
            raise ApiError(400, "ClientError.BadRequest", "DATA items must be delete_item objects")
        items.append({"path": transfer_fs.normalize(raw.get("path"))})
    extra = {
        "label": _check_label(body.get("label")),
        "deadline": _optional_time(body.get("deadline")),
        "recursive": bool(body.get("recursive")),
        "ignore_missing": bool(body.get("ignore_missing")),
    }
    row = _insert_task(
        req,
        caller,
        kind="DELETE",
        submission_id=submission_id,
        source=endpoint,
        destination=None,
        items=items,
        extra=extra,
    )
    return _submission_result(req, "delete_result", row, duplicate=False)


def _optional_time(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ApiError(400, "ClientError.BadRequest", "deadline must be an ISO 8601 string")
    try:
        return clock.parse_iso(value)
    except ValueError as err:
        raise ApiError(400, "ClientError.BadRequest", f"Invalid deadline {value!r}") from err


ROUTES: list[Route] = [
    route(
        "GET",
        "/v0.10/submission_id",
        get_submission_id,
        service="transfer",
        resource_server=TRANSFER_RS,
    ),
    route(
        "POST", "/v0.10/transfer", submit_transfer, service="transfer", resource_server=TRANSFER_RS
    ),
    route("POST", "/v0.10/delete", submit_delete, service="transfer", resource_server=TRANSFER_RS),
]
