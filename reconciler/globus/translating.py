"""Translate globus_sdk and network exceptions into ``GlobusError``, once.

A token request refused by Globus Auth surfaces inside whichever call needed the token
(a Transfer read, say); it is reported as what it is, an Auth error about the client's
credentials, naming the client id (never the secret) with what to check.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, urlsplit

import globus_sdk

from reconciler.errors import GlobusError
from reconciler.globus.retrying import compute_host, compute_network_cause

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
TOKEN_PATH = "/v2/oauth2/token"


def translate(err: Exception, *, service: str) -> GlobusError:
    """Classify an SDK exception. A 5xx whose code names an external or endpoint
    error (e.g. ``ExternalError.MkdirFailed.Exists``) is a definite answer, not a
    transient fault, so it is not retryable, matching the SDK's own retry rule."""
    if isinstance(err, globus_sdk.AuthAPIError) and _is_token_request(err):
        return _token_refusal(err)
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
        inner = getattr(err, "underlying_exception", None)
        request = getattr(inner, "request", None)
        host = compute_host(str(getattr(request, "url", "") or ""))
        return GlobusError(
            f"cannot reach {host}: {compute_network_cause(err)} (gave up after retrying)",
            service=service,
            retryable=True,
        )
    return GlobusError(f"{type(err).__name__}: {err}", service=service)


def _is_token_request(err: globus_sdk.AuthAPIError) -> bool:
    request = getattr(err, "_underlying_response", None)
    url = getattr(getattr(request, "request", None), "url", None) or ""
    return urlsplit(str(url)).path.rstrip("/").endswith(TOKEN_PATH)


def compute_client_id(err: globus_sdk.AuthAPIError) -> str | None:
    """The client id of a token request: the user part of its Basic credentials (the
    secret after the colon is never kept), else the ``client_id`` form field."""
    request = err._underlying_response.request
    header = str(request.headers.get("Authorization", ""))
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.split(":", 1)[0] or None
    body = request.body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    found = parse_qs(text).get("client_id")
    return found[0] if found else None


def _token_refusal(err: globus_sdk.AuthAPIError) -> GlobusError:
    client = compute_client_id(err) or "(unknown)"
    raw = err.raw_json if isinstance(err.raw_json, dict) else {}
    oauth_error = raw.get("error")
    detail = str(raw.get("error_description") or err.message or "request refused")
    reason = f"{oauth_error}: {detail}" if oauth_error else detail
    if err.http_status == 401:
        hint = (
            "check GLOBUS_CLIENT_ID and the client secret (GLOBUS_CLIENT_SECRET, "
            "--client-secret-file or the systemd credential 'client-secret'): the secret is "
            "wrong, or was deleted or rotated at app.globus.org/settings/developers"
        )
    else:
        hint = "check the scopes the client may request (its project at app.globus.org)"
    return GlobusError(
        f"Globus Auth refused a token for client {client} ({reason}); {hint}",
        service="auth",
        http_status=err.http_status,
        code=err.code if err.code and err.code != "Error" else oauth_error,
        request_id=err.request_id,
        retryable=err.http_status in RETRYABLE_STATUS,
    )
