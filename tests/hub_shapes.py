"""``GLOBUS_DATA`` as real Globus-enabled JupyterHubs build it, for tests.

Evidence:
- **the tutorial's hub** puts the *decoded* id_token claims at the top and the tokens
  by resource server beside them; its notebook reads ``tokens['id_token']['sub']`` and
  the ``identity_set`` entry whose ``sub`` matches. The claims are those globus-sdk's
  ``OAuthTokenResponse.decode_id_token()`` returns for a Globus sign-in.
- **JupyterHub's oauthenticator** (``oauthenticator/globus.py``): ``pre_spawn_start``
  sets ``GLOBUS_DATA = base64(pickle.dumps(auth_state))``.
  - Up to version 15, ``auth_state = {"client_id", "tokens": {rs: token}}`` where the
    tokens are globus-sdk's ``by_resource_server`` (``access_token``,
    ``expires_at_seconds``, ``refresh_token``, ``resource_server``, ``scope``,
    ``token_type``), minus ``exclude_tokens`` (default ``['auth.globus.org']``, and
    from 14.1 ``['auth.globus.org', 'groups.api.globus.org']``).
  - From version 16, ``build_auth_state_dict`` gives ``{"client_id", "tokens",
    "token_response", "globus_user", "globus_groups"}``; each token keeps only
    ``expires_in``, ``resource_server``, ``scope``, ``token_type``, ``refresh_token``
    and ``access_token``; ``token_response`` is Auth's whole answer (the Auth token and
    the signed ``id_token`` at the top, the others in ``other_tokens``), so it still
    holds the tokens ``exclude_tokens`` removed; ``globus_user`` is the userinfo answer.
  - Default scopes ``openid profile urn:globus:auth:scope:transfer.api.globus.org:all``
    (plus the Groups ``view_my_groups_and_memberships`` scope when group-based
    sign-in is configured), so by default only a Transfer token reaches the notebook.
"""

from __future__ import annotations

import base64
import json
import pickle
import time
from collections.abc import Mapping
from typing import Any

PRIMARY = "b0d5b1b6-91a4-11e5-bf8f-f3b0a5e5d1b6"
LINKED = "c1e6c2c7-91a4-11e5-bf8f-f3b0a5e5d1b7"
HUB_CLIENT = "f3a1e3c6-0000-4d2e-9a6b-1b2c3d4e5f60"
USERNAME = "alice@uchicago.edu"

SCOPES = {
    "auth.globus.org": "openid profile",
    "transfer.api.globus.org": "urn:globus:auth:scope:transfer.api.globus.org:all",
    "groups.api.globus.org": "urn:globus:auth:scope:groups.api.globus.org:all",
}
DEFAULT_EXCLUDED = ("auth.globus.org", "groups.api.globus.org")

IDENTITY_SET = [
    {
        "sub": PRIMARY,
        "username": USERNAME,
        "name": "Alice Liddell",
        "email": "alice@uchicago.edu",
        "identity_provider": "e47bb67d-0ff0-4c8e-b4ac-d6d8bb3a0d70",
        "identity_provider_display_name": "University of Chicago",
        "organization": "University of Chicago",
        "last_authentication": 1767225600,
    },
    {
        "sub": LINKED,
        "username": "alice@gmail.com",
        "name": "Alice G",
        "email": "alice@gmail.com",
        "identity_provider": "41143743-f3c8-4d60-bbdb-eeecaba85bd9",
        "identity_provider_display_name": "Google",
        "organization": None,
        "last_authentication": None,
    },
]

ID_TOKEN_CLAIMS: dict[str, Any] = {
    "sub": PRIMARY,
    "preferred_username": USERNAME,
    "name": "Alice Liddell",
    "email": "alice@uchicago.edu",
    "organization": "University of Chicago",
    "identity_provider": "e47bb67d-0ff0-4c8e-b4ac-d6d8bb3a0d70",
    "identity_provider_display_name": "University of Chicago",
    "last_authentication": 1767225600,
    "identity_set": IDENTITY_SET,
    "iss": "https://auth.globus.org",
    "aud": HUB_CLIENT,
    "exp": 1767398400,
    "iat": 1767225600,
    "at_hash": "x7jR0dTn2hd4qH2MSn0ZkA",
}

USERINFO: dict[str, Any] = {
    key: ID_TOKEN_CLAIMS[key]
    for key in (
        "sub",
        "preferred_username",
        "name",
        "email",
        "organization",
        "identity_provider",
        "identity_provider_display_name",
        "last_authentication",
        "identity_set",
    )
}


def jwt(claims: Mapping[str, Any]) -> str:
    """A JWT-shaped string with ``claims`` as payload (the signature is not real)."""

    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS512', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def _sdk_token(server: str, access_token: str, expires_at: int) -> dict[str, Any]:
    """One entry of globus-sdk's ``OAuthTokenResponse.by_resource_server``."""
    return {
        "scope": SCOPES.get(server, server),
        "access_token": access_token,
        "refresh_token": None,
        "token_type": "Bearer",
        "expires_at_seconds": expires_at,
        "resource_server": server,
    }


def tutorial(
    tokens: Mapping[str, str],
    *,
    exclude: tuple[str, ...] = (),
    expires_at: int | None = None,
    claims: Mapping[str, Any] = ID_TOKEN_CLAIMS,
) -> dict[str, Any]:
    """The tutorial hub's bundle: decoded claims at the top, its tokens beside them."""
    expires = expires_at or int(time.time()) + 172800
    return {
        "id_token": dict(claims),
        "tokens": {rs: _sdk_token(rs, t, expires) for rs, t in tokens.items() if rs not in exclude},
    }


def oauthenticator_15(
    tokens: Mapping[str, str], *, exclude: tuple[str, ...] = DEFAULT_EXCLUDED
) -> dict[str, Any]:
    """oauthenticator before 16: ``client_id`` and the non-excluded tokens only."""
    expires = int(time.time()) + 172800
    return {
        "client_id": HUB_CLIENT,
        "tokens": {rs: _sdk_token(rs, t, expires) for rs, t in tokens.items() if rs not in exclude},
    }


def oauthenticator_16(
    tokens: Mapping[str, str],
    *,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDED,
    claims: Mapping[str, Any] = ID_TOKEN_CLAIMS,
    issued_at: int | None = None,
) -> dict[str, Any]:
    """oauthenticator 16 and later (``build_auth_state_dict``); ``globus_user`` is the
    userinfo form of ``claims``. The tokens and the id_token are issued together, at
    ``issued_at`` (default now): the id_token's ``iat`` and ``exp`` say so."""
    issued = int(time.time()) if issued_at is None else issued_at
    claims = {**claims, "iat": issued, "exp": issued + 172800}
    attrs = ("expires_in", "resource_server", "scope", "token_type", "refresh_token")

    def raw(server: str, token: str) -> dict[str, Any]:
        return {
            "access_token": token,
            "expires_in": 172800,
            "resource_server": server,
            "scope": SCOPES.get(server, server),
            "token_type": "Bearer",
            "state": "5a5929fa3c0210042c2fbb455e1e39d0",
        }

    auth = raw("auth.globus.org", tokens.get("auth.globus.org", "auth-token-not-given"))
    others = [raw(rs, t) for rs, t in tokens.items() if rs != "auth.globus.org"]
    token_response = {**auth, "id_token": jwt(claims), "other_tokens": others}
    kept = [{name: doc.get(name) for name in (*attrs, "access_token")} for doc in [*others, auth]]
    return {
        "client_id": HUB_CLIENT,
        "tokens": {
            doc["resource_server"]: doc for doc in kept if doc["resource_server"] not in exclude
        },
        "token_response": token_response,
        "globus_user": {key: value for key, value in claims.items() if key in USERINFO},
        "globus_groups": [],
    }


def encode(bundle: object) -> str:
    """``GLOBUS_DATA`` as the hub sets it."""
    return base64.b64encode(pickle.dumps(bundle)).decode("utf-8")
