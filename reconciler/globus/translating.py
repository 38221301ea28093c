"""Translate globus_sdk and network exceptions into ``GlobusError``, once."""

from __future__ import annotations

import globus_sdk

from reconciler.errors import GlobusError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def translate(err: Exception, *, service: str) -> GlobusError:
    """Classify an SDK exception. A 5xx whose code names an external or endpoint
    error (e.g. ``ExternalError.MkdirFailed.Exists``) is a definite answer, not a
    transient fault, so it is not retryable, matching the SDK's own retry rule."""
    if isinstance(err, globus_sdk.GlobusAPIError):
        code = err.code if err.code and err.code != "Error" else None
        definite = bool(code) and ("ExternalError" in str(code) or "EndpointError" in str(code))
        return GlobusError(
            str(err.message or err.text or "request failed"),
            service=service,
            http_status=err.http_status,
            code=code,
            request_id=err.request_id,
            retryable=err.http_status in RETRYABLE_STATUS and not definite,
        )
    if isinstance(err, globus_sdk.NetworkError):
        return GlobusError(f"network error: {type(err).__name__}", service=service, retryable=True)
    return GlobusError(f"{type(err).__name__}: {err}", service=service)
