"""What a Globus-enabled JupyterHub puts in ``GLOBUS_DATA``, read as plain data: the
user's access tokens per resource server and who the user is.

Two shapes are known (both are base64-encoded pickles, decoded by
``reconciler.credentials.decode_globus_data`` with an unpickler that admits no class):

- **the tutorial's hub**: the *decoded* id_token claims at the top,
  ``{"id_token": {"sub", "preferred_username", "identity_set": [...], ...},
  "tokens": {resource_server: {"access_token", ...}}}``;
- **JupyterHub's oauthenticator** (``GlobusOAuthenticator``): its ``auth_state``,
  ``{"client_id", "tokens": {resource_server: {"access_token", "refresh_token",
  "expires_at_seconds" or "expires_in", "resource_server", "scope", "token_type"}}}``,
  and from version 16 also ``"token_response"`` (Globus Auth's token response, with the
  signed ``id_token``), ``"globus_user"`` (the userinfo claims) and ``"globus_groups"``.
  Its ``exclude_tokens`` setting removes the ``auth.globus.org`` token by default, and
  from version 14.1 the ``groups.api.globus.org`` token too.

An id_token given as a JWT string anywhere (at the top, beside a token, in the token
response) is read too. The hub verified it at sign-in; nothing here verifies it again,
so these functions must never be used on tokens from anywhere else. Pure functions only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.errors import ConfigurationError

AUTH_SERVER = "auth.globus.org"
GROUPS_SERVER = "groups.api.globus.org"
TRANSFER_SERVER = "transfer.api.globus.org"

HUB_SETTING = "c.GlobusOAuthenticator"
_WHAT_NEEDS = {
    AUTH_SERVER: ("looking up identities by username", "openid profile"),
    GROUPS_SERVER: (
        "reading and changing group memberships",
        "urn:globus:auth:scope:groups.api.globus.org:all",
    ),
    TRANSFER_SERVER: ("Transfer", "urn:globus:auth:scope:transfer.api.globus.org:all"),
}


@dataclass(frozen=True, slots=True)
class HubToken:
    access_token: str
    expires_at: int | None = None
    """Epoch seconds, when the hub recorded it (``expires_at_seconds``)."""


def compute_hub_tokens(data: Mapping[str, Any]) -> dict[str, HubToken]:
    """The access tokens by resource server: from ``data["tokens"]`` (both hub shapes),
    or a plain ``{resource_server: {"access_token": ...}}`` mapping. Tokens the hub only
    left inside ``token_response`` are not taken: a hub that excludes a token from
    ``tokens`` means the notebook not to use it.

    When each expires: ``expires_at_seconds`` where the hub kept it (the tutorial's hub,
    oauthenticator before 16), else ``expires_in`` counted from the id_token's ``iat``
    (oauthenticator 16 keeps only ``expires_in``; the id_token came in the same token
    response, so its ``iat`` is when the tokens were issued). Unknown otherwise."""
    by_server = data.get("tokens", data)
    if not isinstance(by_server, Mapping):
        raise ConfigurationError("GLOBUS_DATA has no 'tokens' mapping")
    issued = compute_issued_at(data)
    tokens: dict[str, HubToken] = {}
    for server, entry in by_server.items():
        if isinstance(entry, Mapping) and isinstance(entry.get("access_token"), str):
            expires = _seconds(entry.get("expires_at_seconds"))
            lifetime = _seconds(entry.get("expires_in"))
            if expires is None and issued is not None and lifetime is not None:
                expires = issued + lifetime
            tokens[str(server)] = HubToken(entry["access_token"], expires)
    return tokens


def compute_issued_at(data: Mapping[str, Any]) -> int | None:
    """When the hub's tokens were issued: the ``iat`` of the id_token that came with
    them (None when there is none, or it cannot be read)."""
    try:
        found = find_id_token(data)
        claims = compute_jwt_claims(found) if isinstance(found, str) else found
    except ConfigurationError:
        return None
    return _seconds(claims.get("iat")) if isinstance(claims, Mapping) else None


def _seconds(value: object) -> int | None:
    """A whole number of seconds (an int, or a finite float), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return int(value)
    except (OverflowError, ValueError):  # inf, nan
        return None


def compute_jwt_claims(id_token: str) -> dict[str, Any]:
    """The payload of a JWT (its middle part), *not verified*: see the module docstring."""
    parts = id_token.strip().split(".")
    if len(parts) != 3 or not parts[1]:
        raise ConfigurationError("the id_token is not a JWT (three dot-separated parts)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"the id_token's payload cannot be decoded: {exc}") from exc
    if not isinstance(claims, dict):
        raise ConfigurationError("the id_token's payload is not a JSON object")
    return claims


def find_id_token(data: Mapping[str, Any]) -> str | Mapping[str, Any] | None:
    """The id_token in a decoded ``GLOBUS_DATA``, as claims (the tutorial's decoded form)
    or a JWT: at the top, in oauthenticator's ``token_response``, or beside a token
    (Auth's first)."""
    top = data.get("id_token")
    if isinstance(top, (str, Mapping)):
        return top
    response = data.get("token_response")
    if isinstance(response, Mapping) and isinstance(response.get("id_token"), str):
        return str(response["id_token"])
    tokens = data.get("tokens", data)
    if isinstance(tokens, Mapping):
        ordered = sorted(tokens.items(), key=lambda item: item[0] != AUTH_SERVER)
        for _server, entry in ordered:
            if isinstance(entry, Mapping) and isinstance(entry.get("id_token"), str):
                return str(entry["id_token"])
    return None


def compute_hub_claims(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The signed-in user's identity claims (``sub``, ``preferred_username``,
    ``identity_set`` ...): from the id_token, else oauthenticator's ``globus_user``."""
    found = find_id_token(data)
    if isinstance(found, Mapping):
        return found
    if isinstance(found, str):
        return compute_jwt_claims(found)
    user = data.get("globus_user")
    if isinstance(user, Mapping) and user.get("sub"):
        return user
    raise ConfigurationError(
        "GLOBUS_DATA holds no id_token and no globus_user: the hub must pass on who signed "
        "in (JupyterHub's oauthenticator does from version 16, in token_response and "
        "globus_user; the tutorial's hub puts the decoded id_token at the top)"
    )


def compute_missing_token_message(resource_server: str) -> str:
    """One line: which token GLOBUS_DATA lacks, and the hub settings that bring it."""
    what, scope = _WHAT_NEEDS.get(resource_server, (resource_server, resource_server))
    return (
        f"GLOBUS_DATA holds no {resource_server} token, needed for {what}: the hub excluded "
        f"it or did not ask for it; in the hub's configuration remove {resource_server!r} "
        f"from {HUB_SETTING}.exclude_tokens and add {scope!r} to {HUB_SETTING}.scope, then "
        "sign in again (or use a confidential client: GLOBUS_CLIENT_ID and "
        "GLOBUS_CLIENT_SECRET)"
    )


def compute_expired_token_message(resource_server: str, expires_at: int) -> str:
    when = datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds")
    return (
        f"the {resource_server} token in GLOBUS_DATA expired at {when}: hub tokens last "
        "about 48 hours and a notebook cannot renew them; restart your server from the "
        "hub's control panel (sign in again) to get fresh ones"
    )
