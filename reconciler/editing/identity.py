"""Who is signed in to a Globus-enabled JupyterHub: the primary identity from the
``id_token`` the hub put in ``GLOBUS_DATA``, for a notebook that requests a grant for
its user.

The hub verified the token (signature, audience, expiry) when the user signed in, and
hands it to the notebook server in its environment; this module only *reads* the
payload and does not verify it again, so it must never be used on a token from anywhere
else. ``GLOBUS_DATA`` is decoded with the project's restricted unpickler
(``reconciler.credentials.decode_globus_data``), which admits plain data only.
``compute_*`` functions are pure; ``load_hub_identity`` reads the environment.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.credentials import decode_globus_data
from reconciler.errors import ConfigurationError
from reconciler.spec.fields import is_uuid

AUTH_SERVER = "auth.globus.org"


@dataclass(frozen=True, slots=True)
class HubIdentity:
    """The user's primary Globus identity: its UUID and username (as a spec would
    write either), and the display details Globus Auth gave."""

    id: str
    username: str
    name: str | None = None
    email: str | None = None
    identity_provider: str | None = None


def compute_id_token_claims(id_token: str) -> dict[str, Any]:
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


def compute_primary_identity(claims: Mapping[str, Any]) -> HubIdentity:
    """The primary identity in an id_token's claims: the ``identity_set`` entry whose
    ``sub`` is the token's ``sub`` (else ``sub`` and ``preferred_username``)."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not is_uuid(sub):
        raise ConfigurationError("the id_token has no identity UUID in `sub`")
    entries = claims.get("identity_set")
    chosen: Mapping[str, Any] = {}
    if isinstance(entries, list):
        chosen = next(
            (
                e
                for e in entries
                if isinstance(e, Mapping) and str(e.get("sub", "")).lower() == sub.lower()
            ),
            {},
        )
    username = chosen.get("username") or claims.get("preferred_username")
    if not isinstance(username, str) or "@" not in username:
        raise ConfigurationError(
            "the id_token names no username for its primary identity "
            "(request the `openid profile` scopes at sign-in)"
        )
    return HubIdentity(
        id=sub.lower(),
        username=username,
        name=_text(chosen.get("name") or claims.get("name")),
        email=_text(chosen.get("email") or claims.get("email")),
        identity_provider=_text(chosen.get("identity_provider_display_name")),
    )


def find_id_token(data: Mapping[str, Any]) -> str:
    """The id_token in a decoded ``GLOBUS_DATA``: at the top, or with the Auth tokens
    (``{"tokens": {"auth.globus.org": {"id_token": ...}}}``), or with any token."""
    if isinstance(data.get("id_token"), str):
        return str(data["id_token"])
    tokens = data.get("tokens", data)
    if isinstance(tokens, Mapping):
        ordered = sorted(tokens.items(), key=lambda item: item[0] != AUTH_SERVER)
        for _server, entry in ordered:
            if isinstance(entry, Mapping) and isinstance(entry.get("id_token"), str):
                return str(entry["id_token"])
    raise ConfigurationError(
        "GLOBUS_DATA holds no id_token: the hub must pass it on with the tokens "
        "(e.g. as tokens['auth.globus.org']['id_token'])"
    )


def load_hub_identity(environ: Mapping[str, str] | None = None) -> HubIdentity:
    """The signed-in user's primary identity, from ``$GLOBUS_DATA``."""
    env = os.environ if environ is None else environ
    blob = env.get("GLOBUS_DATA")
    if not blob:
        raise ConfigurationError(
            "GLOBUS_DATA is not set: run this in a notebook started by a Globus-enabled "
            "JupyterHub (or set it to the hub's base64 token bundle)"
        )
    return compute_primary_identity(
        compute_id_token_claims(find_id_token(decode_globus_data(blob)))
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
