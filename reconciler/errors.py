"""The project's own error types, classified by what the caller should do next.

Third-party exceptions (globus_sdk, requests) are translated into these once, at the
``reconciler.globus`` boundary, and chained with ``raise ... from``. Nothing outside that
package needs to know an SDK exception type.
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base class: a failure we understand and can explain to the user."""


class ConfigurationError(ReconcilerError):
    """Bad credentials setup, missing file or option: the user must fix something."""


class GlobusError(ReconcilerError):
    """A call to a Globus service failed.

    ``retryable`` says whether the same call may succeed later (throttling, 5xx,
    network); ``code`` is Globus's error code when there is one (``Exists``,
    ``AccessRuleNotFound``, ``PermissionDenied``...).
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.retryable = retryable

    def __str__(self) -> str:
        status = f" {self.http_status}" if self.http_status is not None else ""
        code = f" {self.code}" if self.code else ""
        request = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.service}{status}{code}: {self.message}{request}"


class StagingBlocked(GlobusError):
    """Globus refused a staging copy until a person acts (a missing ``data_access``
    consent, a client identity with no mapping on a mapped collection). The message
    says what to do; the staging is tried again at most once an hour."""
