"""The vocabulary shared by every route: requests, responses, errors, and the router.

A route is a method, a path regex with named groups, the service it belongs to (for the
request log) and the resource server whose token it requires (None: no bearer token, as
for the OAuth token endpoint and the control plane). Handlers are plain functions of a
``Request``; they raise ``ApiError`` for Globus-shaped errors. Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Service = Literal["transfer", "groups", "auth", "control", "unknown"]

TRANSFER_RS = "transfer.api.globus.org"
GROUPS_RS = "groups.api.globus.org"
AUTH_RS = "auth.globus.org"


class ApiError(Exception):
    """An error answered as ``{"code", "message", "request_id", "resource"}``.

    ``extra`` adds fields to that body; ``body`` replaces it whole (Globus Auth answers
    in its own shape: ``reconciler.sandbox.auth.auth_error``)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.body = None if body is None else dict(body)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a bearer token belongs to."""

    identity_id: str
    username: str
    client_id: str
    scope: str


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    client_host: str
    conn: sqlite3.Connection
    now: float
    request_id: str
    params: dict[str, str] = field(default_factory=dict)
    caller: Caller | None = None
    services: Any = None
    """The running app's in-memory services (faults, request log); control plane only."""

    def json(self) -> Any:
        """The body parsed as JSON; an empty body is ``{}``; bad JSON is a 400."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as err:
            raise ApiError(400, "BadRequest", f"Request body is not valid JSON: {err}") from err

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "Request body must be a JSON object")
        return data

    def require_caller(self) -> Caller:
        if self.caller is None:  # routes with a resource server always set it
            raise ApiError(401, "AuthenticationFailed", "No valid bearer token")
        return self.caller

    def resource(self) -> str:
        return self.path


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    service: Service
    resource_server: str | None


def route(
    method: str,
    pattern: str,
    handler: Handler,
    *,
    service: Service,
    resource_server: str | None,
) -> Route:
    return Route(method, re.compile(f"^{pattern}$"), handler, service, resource_server)


def service_of(path: str) -> Service:
    """Which emulated service a path belongs to, from its prefix alone."""
    if path.startswith("/v0.10/"):
        return "transfer"
    if path.startswith("/v2/groups"):
        return "groups"
    if path.startswith(("/v2/oauth2/", "/v2/api/")):
        return "auth"
    if path.startswith("/_sandbox/") or path == "/_sandbox":
        return "control"
    return "unknown"


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and its path parameters; raise 405 when only the method is wrong."""
        path_matched = False
        for candidate in self._routes:
            found = candidate.pattern.match(path)
            if found is None:
                continue
            path_matched = True
            if candidate.method == method:
                return candidate, found.groupdict()
        if path_matched:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {path}")
        return None


def ok(body: Any, status: int = 200) -> Response:
    return Response(status, body)
