"""The Globus calls ``reconciler probe`` makes, fenced and counted.

Every call that names a path checks it against the scratch directory first
(``reconciler.core.scratch``): writes only strictly below it, reads also on it. Every
call counts against a budget; going over raises ``ProbeBudgetExceeded`` before the call
is made. Errors leave as ``GlobusError`` (status and code kept: they are what the probe
observes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import globus_sdk

from reconciler.core.scratch import require_inside
from reconciler.errors import GlobusError, ReconcilerError
from reconciler.globus.translating import translate


class ProbeBudgetExceeded(ReconcilerError):
    """The probe reached its call budget (``--max-calls``)."""


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service="transfer") from err


class ProbePort:
    """One collection, one scratch directory, at most ``max_calls`` calls."""

    def __init__(
        self,
        transfer: globus_sdk.TransferClient,
        collection_id: str,
        scratch: str,
        *,
        max_calls: int,
    ) -> None:
        self._transfer = transfer
        self.collection_id = collection_id
        self.scratch = scratch
        self.max_calls = max_calls
        self.calls = 0
        self._lock = threading.Lock()

    def _spend(self) -> None:
        with self._lock:
            if self.calls >= self.max_calls:
                raise ProbeBudgetExceeded(
                    f"the probe made its {self.max_calls} calls (--max-calls); stopping"
                )
            self.calls += 1

    def allow_cleanup(self, calls: int) -> None:
        """Raise the budget by ``calls`` so that cleaning up is never refused."""
        with self._lock:
            self.max_calls = max(self.max_calls, self.calls) + calls

    def _write_path(self, path: str) -> str:
        return require_inside(path, self.scratch)

    # --- reads ----------------------------------------------------------------------

    def endpoint(self) -> tuple[dict[str, Any], datetime | None]:
        """The collection document and Globus's clock (the HTTP ``Date`` header)."""
        self._spend()
        with _translated():
            response = self._transfer.get_endpoint(self.collection_id)
        date = response.headers.get("Date")
        try:
            when = parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError):
            when = None
        return dict(response.data), when

    def ls(self, path: str) -> list[dict[str, Any]]:
        require_inside(path, self.scratch, allow_scratch=True)
        self._spend()
        with _translated():
            listing = self._transfer.operation_ls(self.collection_id, path=path)
            return [dict(entry) for entry in listing]

    def list_rules(self) -> list[dict[str, Any]]:
        self._spend()
        with _translated():
            return [dict(d) for d in self._transfer.endpoint_acl_list(self.collection_id)["DATA"]]

    def task_status(self, task_id: str) -> str:
        self._spend()
        with _translated():
            return str(self._transfer.get_task(task_id)["status"])

    def manager_source_paths(self, task_id: str) -> list[str]:
        """``source_path`` of each file a task moved, through activity monitoring."""
        self._spend()
        with _translated():
            pages = self._transfer.endpoint_manager_task_successful_transfers(task_id)
            return [str(row["source_path"]) for row in pages]

    # --- writes (under the scratch directory only) ---------------------------------

    def create_rule(
        self, *, principal: str, path: str, expires: datetime | None, permissions: str = "r"
    ) -> str:
        self._write_path(path)
        doc: dict[str, Any] = {
            "DATA_TYPE": "access",
            "principal_type": "identity",
            "principal": principal,
            "path": path,
            "permissions": permissions,
        }
        if expires is not None:
            doc["expiration_date"] = expires.isoformat()
        self._spend()
        with _translated():
            response = self._transfer.add_endpoint_acl_rule(self.collection_id, doc)
        return str(response["access_id"])

    def get_rule_path(self, rule_id: str) -> str | None:
        """The path Globus stored for one of the probe's rules (None when it is gone)."""
        self._spend()
        try:
            with _translated():
                rule = self._transfer.get_endpoint_acl_rule(self.collection_id, rule_id)
                return str(rule["path"])
        except GlobusError as err:
            if err.http_status == 404:
                return None
            raise

    def delete_rule(self, rule_id: str) -> None:
        """Delete one of the probe's own rules (by the id Globus gave it)."""
        self._spend()
        with _translated():
            self._transfer.delete_endpoint_acl_rule(self.collection_id, rule_id)

    def mkdir(self, path: str) -> None:
        self._write_path(path)
        self._spend()
        with _translated():
            self._transfer.operation_mkdir(self.collection_id, path)

    def submit_copy(self, source: str, destination: str) -> str:
        require_inside(source, self.scratch)
        self._write_path(destination)
        data = globus_sdk.TransferData(
            self.collection_id, self.collection_id, label="reconciler probe: source_path"
        )
        data.add_item(source, destination)
        self._spend()
        with _translated():
            return str(self._transfer.submit_transfer(data)["task_id"])

    def submit_delete(self, path: str) -> str:
        self._write_path(path)
        data = globus_sdk.DeleteData(
            self.collection_id, recursive=True, label="reconciler probe: clean up"
        )
        data.add_item(path)
        self._spend()
        with _translated():
            return str(self._transfer.submit_delete(data)["task_id"])
