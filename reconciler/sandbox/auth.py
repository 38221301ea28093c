"""Globus Auth: client-credentials tokens, bearer-token checks and identity lookups.

Any client id and secret get tokens, unless the control plane registered that client
with a different secret. A client's own identity has ``id`` = the client id and
username ``<client_id>@clients.auth.globus.org``, as in Globus. Tokens are opaque random
strings stored in the world, one per resource server, and expire on real time (moving
the sandbox clock never logs the SDK out). No ``id_token`` is issued (see docs/sandbox.md).

A token keeps the scopes it was requested with, dependencies included (a Transfer token
asked for ``transfer:all[*<collection>/data_access]`` carries that consent; the answer's
``scope`` shows the root scopes only, as Globus's does). Errors are answered in Auth's own
shape, as globus-sdk's captured Auth responses have it: ``{"errors": [{"status", "id",
"code", "detail", "title"}], "error", "error_description"}``, with code ``UNAUTHORIZED``
for a refused client or bearer token.
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from reconciler.sandbox.routing import (
    AUTH_RS,
    GROUPS_RS,
    TRANSFER_RS,
    ApiError,
    Caller,
    Request,
    Response,
    Route,
    ok,
    route,
)

TOKEN_LIFETIME = 172800
MAX_IDENTITIES_PER_CALL = 100
CLIENT_DOMAIN = "clients.auth.globus.org"
_IDENTITY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.invalid/sandbox/identity")
_IDP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.invalid/sandbox/idp")


# --- identities -----------------------------------------------------------------------


def identity_id_for(username: str) -> str:
    """The deterministic id a provisioned username gets (uuid5 of the lowercased name)."""
    return str(uuid.uuid5(_IDENTITY_NAMESPACE, username.lower()))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def identity_doc(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "username": row["username"],
        "status": row["status"],
        "name": row["name"],
        "email": row["email"],
        "organization": row["organization"],
        "identity_provider": row["identity_provider"],
    }


def find_identity(conn: sqlite3.Connection, ref: str) -> sqlite3.Row | None:
    """An identity by id (a UUID) or by username (case-insensitive)."""
    if is_uuid(ref):
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM identities WHERE id = ?", (str(uuid.UUID(ref)),)
        ).fetchone()
        if row is not None:
            return row
    return find_by_username(conn, ref)


def find_by_username(conn: sqlite3.Connection, username: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM identities WHERE username = ?", (username.strip().lower(),)
    ).fetchone()
    return row


def ensure_identity(
    conn: sqlite3.Connection,
    username: str,
    *,
    now: float,
    identity_id: str | None = None,
    name: str | None = None,
    email: str | None = None,
    organization: str | None = None,
    status: str = "used",
    invent_email: bool = True,
) -> sqlite3.Row:
    """Create the identity unless a row with this username already exists; return it.
    A seeded person gets their username as email (``invent_email``); an identity that
    ``provision=true`` creates has never logged in, so Globus knows no email for it."""
    username = username.strip().lower()
    if not username:
        raise ValueError("a username must not be empty")
    existing = find_by_username(conn, username)
    if existing is not None:
        return existing
    new_id = str(uuid.UUID(identity_id)) if identity_id else identity_id_for(username)
    same_id: sqlite3.Row | None = conn.execute(
        "SELECT * FROM identities WHERE id = ?", (new_id,)
    ).fetchone()
    if same_id is not None:  # an id is one identity, whatever name it was asked under
        return same_id
    domain = username.rpartition("@")[2] or "sandbox"
    if invent_email and email is None and "@" in username and not username.endswith(CLIENT_DOMAIN):
        email = username
    conn.execute(
        "INSERT INTO identities (id, username, name, email, organization, identity_provider,"
        " status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new_id,
            username,
            name,
            email,
            organization,
            str(uuid.uuid5(_IDP_NAMESPACE, domain)),
            status,
            now,
        ),
    )
    row: sqlite3.Row = conn.execute("SELECT * FROM identities WHERE id = ?", (new_id,)).fetchone()
    return row


def ensure_identity_ref(conn: sqlite3.Connection, ref: str, *, now: float) -> sqlite3.Row:
    """Resolve a username or UUID, creating the identity when it is unknown. An unknown
    UUID gets the username ``<uuid>@sandbox.invalid``."""
    found = find_identity(conn, ref)
    if found is not None:
        return found
    if is_uuid(ref):
        canonical = str(uuid.UUID(ref))
        return ensure_identity(conn, f"{canonical}@sandbox.invalid", now=now, identity_id=canonical)
    return ensure_identity(conn, ref, now=now)


def ensure_client_identity(conn: sqlite3.Connection, client_id: str, *, now: float) -> sqlite3.Row:
    found: sqlite3.Row | None = conn.execute(
        "SELECT * FROM identities WHERE id = ?", (client_id,)
    ).fetchone()
    if found is not None:
        return found
    return ensure_identity(
        conn,
        f"{client_id}@{CLIENT_DOMAIN}",
        now=now,
        identity_id=client_id if is_uuid(client_id) else None,
        name=f"sandbox client {client_id}",
    )


def usernames_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    result: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT id, username FROM identities WHERE id IN ({marks})", chunk
        ):
            result[str(row["id"])] = str(row["username"])
    return result


def link_identity(conn: sqlite3.Connection, identity_id: str, primary_id: str) -> None:
    """Make ``identity_id`` a linked identity of ``primary_id``'s identity set (as a user
    does in the web app); the primary may itself be linked to another primary."""
    root = _primary_of(conn, primary_id)
    if root == identity_id:
        raise ValueError("an identity cannot be linked to itself")
    conn.execute(
        "INSERT INTO identity_links (identity_id, primary_id) VALUES (?, ?)"
        " ON CONFLICT (identity_id) DO UPDATE SET primary_id = excluded.primary_id",
        (identity_id, root),
    )
    conn.execute(
        "UPDATE identity_links SET primary_id = ? WHERE primary_id = ?", (root, identity_id)
    )


def _primary_of(conn: sqlite3.Connection, identity_id: str) -> str:
    row = conn.execute(
        "SELECT primary_id FROM identity_links WHERE identity_id = ?", (identity_id,)
    ).fetchone()
    return identity_id if row is None else str(row["primary_id"])


def identity_set(conn: sqlite3.Connection, identity_id: str) -> list[str]:
    """Every identity linked with ``identity_id`` (itself included), primary first."""
    primary = _primary_of(conn, identity_id)
    linked = conn.execute(
        "SELECT identity_id FROM identity_links WHERE primary_id = ? ORDER BY identity_id",
        (primary,),
    )
    return [primary, *(str(row["identity_id"]) for row in linked)]


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


def auth_error(status: int, code: str, detail: str, *, error: str | None = None) -> ApiError:
    """An error in Globus Auth's shape. ``error`` is the OAuth2 error (``invalid_client``
    ...); by default the lower-cased code, as Auth's ``"unauthorized"``."""
    title = _TITLES.get(status, "Error")
    body = {
        "errors": [
            {"status": str(status), "id": str(uuid.uuid4()), "code": code, "detail": detail,
             "title": title}
        ],
        "error": error or code.lower(),
        "error_description": detail if error else title,
    }  # fmt: skip
    return ApiError(status, code, detail, body=body)


def _split_csv(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def get_identities(req: Request) -> Response:
    usernames = req.query.get("usernames")
    ids = req.query.get("ids")
    if usernames is not None and ids is not None:
        raise auth_error(400, "INVALID_PARAMETERS", "'usernames' and 'ids' are mutually exclusive")
    if usernames is None and ids is None:
        raise auth_error(400, "INVALID_PARAMETERS", "one of 'usernames' or 'ids' is required")
    values = _split_csv(usernames if usernames is not None else ids or "")
    if len(values) > MAX_IDENTITIES_PER_CALL:
        raise auth_error(
            400,
            "INVALID_PARAMETERS",
            f"at most {MAX_IDENTITIES_PER_CALL} values per call, got {len(values)}",
        )
    provision = req.query.get("provision", "false").lower() == "true"
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for value in values:
        row: sqlite3.Row | None
        if usernames is not None:
            row = find_by_username(req.conn, value)
            if row is None and provision:
                row = ensure_identity(
                    req.conn, value, now=req.now, status="unused", invent_email=False
                )
        else:
            if not is_uuid(value):
                raise auth_error(400, "INVALID_PARAMETERS", f"{value!r} is not an identity id")
            row = req.conn.execute(
                "SELECT * FROM identities WHERE id = ?", (str(uuid.UUID(value)),)
            ).fetchone()
        if row is not None and row["id"] not in seen:
            seen.add(str(row["id"]))
            found.append(identity_doc(row))
    return ok({"identities": found})


# --- tokens ---------------------------------------------------------------------------


def resource_server_of(scope: str) -> str:
    """The resource server a scope string belongs to (dependencies in brackets ignored)."""
    base = scope.split("[", 1)[0]
    if base in ("openid", "profile", "email"):
        return AUTH_RS
    if base.startswith("urn:globus:auth:scope:"):
        return base.split(":")[4]
    if base.startswith("https://auth.globus.org/scopes/"):
        return base.removeprefix("https://auth.globus.org/scopes/").split("/", 1)[0]
    return base


def split_scopes(raw: str) -> list[str]:
    """Split a scope string on whitespace outside ``[...]`` dependency brackets."""
    scopes: list[str] = []
    current: list[str] = []
    depth = 0
    for char in raw:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        if char.isspace() and depth == 0:
            if current:
                scopes.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        scopes.append("".join(current))
    return scopes


def _form(req: Request) -> dict[str, str]:
    parsed = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    """A refused OAuth2 request: ``UNAUTHORIZED`` for a bad client, else the OAuth2
    error upper-cased, with ``error`` set as OAuth2 says."""
    code = "UNAUTHORIZED" if status == 401 else error.upper()
    return auth_error(status, code, description, error=error)


def _client_credentials(req: Request, form: dict[str, str]) -> tuple[str, str]:
    header = req.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except ValueError as err:
            raise _oauth_error(401, "invalid_client", "malformed Basic credentials") from err
        client_id, _, secret = decoded.partition(":")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret:
        raise _oauth_error(401, "invalid_client", "client id and secret are required")
    return client_id, secret


def _check_client(conn: sqlite3.Connection, client_id: str, secret: str) -> None:
    row = conn.execute("SELECT secret FROM clients WHERE client_id = ?", (client_id,)).fetchone()
    if row is not None and not secrets.compare_digest(str(row["secret"]), secret):
        raise _oauth_error(401, "invalid_client", "client secret does not match")


def token_endpoint(req: Request) -> Response:
    form = _form(req)
    client_id, secret = _client_credentials(req, form)
    _check_client(req.conn, client_id, secret)
    grant = form.get("grant_type", "")
    if grant != "client_credentials":
        raise _oauth_error(
            400, "unsupported_grant_type", f"the sandbox supports client_credentials, not {grant!r}"
        )
    identity = ensure_client_identity(req.conn, client_id, now=req.now)
    scopes = split_scopes(form.get("scope", "")) or ["openid", "profile", "email"]
    by_server: dict[str, list[str]] = {}
    for scope in scopes:
        by_server.setdefault(resource_server_of(scope), []).append(scope)
    issued = [
        _issue(req.conn, client_id, str(identity["id"]), server, server_scopes)
        for server, server_scopes in by_server.items()
    ]
    first, others = issued[0], issued[1:]
    return ok({**first, "other_tokens": others})


def root_scopes(scope: str) -> str:
    """A scope string without its dependencies (``a[b] c`` -> ``a c``), as Auth shows it."""
    roots = [part.split("[", 1)[0].lstrip("*") for part in split_scopes(scope)]
    return " ".join(dict.fromkeys(roots))


def _issue(
    conn: sqlite3.Connection, client_id: str, identity_id: str, server: str, scopes: list[str]
) -> dict[str, Any]:
    scope = " ".join(scopes)
    token = "sbx_" + secrets.token_urlsafe(24)
    issued_at = time.time()
    conn.execute(
        "INSERT INTO tokens (token, client_id, identity_id, resource_server, scope, issued_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token, client_id, identity_id, server, scope, issued_at, issued_at + TOKEN_LIFETIME),
    )
    return {
        "access_token": token,
        "scope": root_scopes(scope),
        "expires_in": TOKEN_LIFETIME,
        "token_type": "Bearer",
        "resource_server": server,
    }


def _token_row(conn: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT t.*, i.username FROM tokens t JOIN identities i ON i.id = t.identity_id"
        " WHERE t.token = ? AND t.revoked = 0 AND t.expires_at > ?",
        (token, time.time()),
    ).fetchone()
    return row


_MISSING_TOKEN_CODES = {
    TRANSFER_RS: "ClientError.AuthenticationFailed",  # globus-cli's transfer 401 hook
    GROUPS_RS: "AUTHENTICATION_ERROR",  # docs.globus.org/api/groups, section 2.2
}
_BAD_TOKEN_CODES = {
    TRANSFER_RS: "ClientError.AuthenticationFailed",
    GROUPS_RS: "INVALID_TOKEN",
}


def authenticate(conn: sqlite3.Connection, authorization: str, resource_server: str) -> Caller:
    """The caller a bearer token stands for; 401 unless it is live and for this server,
    with the code each service uses for a missing and for an unusable token (Auth's own
    routes answer in Auth's shape, ``UNAUTHORIZED``)."""
    missing = _MISSING_TOKEN_CODES.get(resource_server, "AuthenticationFailed")
    unusable = _BAD_TOKEN_CODES.get(resource_server, "AuthenticationFailed")

    def refuse(code: str, message: str) -> ApiError:
        if resource_server == AUTH_RS:
            return auth_error(401, "UNAUTHORIZED", message)
        return ApiError(401, code, message)

    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise refuse(missing, "No bearer token in the Authorization header")
    row = _token_row(conn, token.strip())
    if row is None:
        raise refuse(unusable, "Token is not active")
    if row["resource_server"] != resource_server:
        raise refuse(unusable, f"Token is for {row['resource_server']}, not {resource_server}")
    return Caller(
        identity_id=str(row["identity_id"]),
        username=str(row["username"]),
        client_id=str(row["client_id"]),
        scope=str(row["scope"]),
    )


def introspect(req: Request) -> Response:
    form = _form(req)
    client_id, secret = _client_credentials(req, form)
    _check_client(req.conn, client_id, secret)
    row = _token_row(req.conn, form.get("token", ""))
    if row is None:
        return ok({"active": False})
    return ok(
        {
            "active": True,
            "token_type": "Bearer",
            "scope": root_scopes(str(row["scope"])),
            "client_id": row["client_id"],
            "username": row["username"],
            "name": None,
            "email": None,
            "exp": int(row["expires_at"]),
            "iat": int(row["issued_at"]),
            "nbf": int(row["issued_at"]),
            "sub": row["identity_id"],
            "aud": [row["resource_server"], row["client_id"]],
            "iss": "https://auth.globus.org",
            "identity_set": identity_set(req.conn, str(row["identity_id"])),
        }
    )


def validate(req: Request) -> Response:
    form = _form(req)
    return ok({"active": _token_row(req.conn, form.get("token", "")) is not None})


def revoke(req: Request) -> Response:
    form = _form(req)
    req.conn.execute("UPDATE tokens SET revoked = 1 WHERE token = ?", (form.get("token", ""),))
    return ok({"active": False})


def userinfo(req: Request) -> Response:
    caller = req.require_caller()
    row = req.conn.execute(
        "SELECT * FROM identities WHERE id = ?", (caller.identity_id,)
    ).fetchone()
    doc = identity_doc(row)
    linked = [
        identity_doc(found)
        for found in (
            req.conn.execute("SELECT * FROM identities WHERE id = ?", (member,)).fetchone()
            for member in identity_set(req.conn, caller.identity_id)
        )
        if found is not None
    ]
    return ok(
        {
            "sub": doc["id"],
            "preferred_username": doc["username"],
            "name": doc["name"],
            "email": doc["email"],
            "organization": doc["organization"],
            "identity_provider": doc["identity_provider"],
            "identity_provider_display_name": "Globus sandbox",
            "last_authentication": None,
            "identity_set": [{**linked_doc, "sub": linked_doc["id"]} for linked_doc in linked],
        }
    )


ROUTES: list[Route] = [
    route("POST", "/v2/oauth2/token", token_endpoint, service="auth", resource_server=None),
    route("POST", "/v2/oauth2/token/introspect", introspect, service="auth", resource_server=None),
    route("POST", "/v2/oauth2/token/validate", validate, service="auth", resource_server=None),
    route("POST", "/v2/oauth2/token/revoke", revoke, service="auth", resource_server=None),
    route("GET", "/v2/oauth2/userinfo", userinfo, service="auth", resource_server=AUTH_RS),
    route("GET", "/v2/api/identities", get_identities, service="auth", resource_server=AUTH_RS),
]
