"""Who is signed in to a Globus-enabled JupyterHub: the primary identity from the
identity claims the hub put in ``GLOBUS_DATA`` (an id_token, decoded or not, or
oauthenticator's ``globus_user``), for a notebook that requests a grant for its user.

The hub verified the token (signature, audience, expiry) when the user signed in, and
hands it to the notebook server in its environment; this module only *reads* the
payload and does not verify it again, so it must never be used on a token from anywhere
else. ``GLOBUS_DATA`` is decoded with the project's restricted unpickler
(``reconciler.credentials.decode_globus_data``), which admits plain data only.
``compute_*`` functions are pure; ``load_hub_identity`` reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.credentials import decode_globus_data
from reconciler.errors import ConfigurationError
from reconciler.hub import compute_hub_claims, compute_jwt_claims
from reconciler.spec.fields import is_uuid


@dataclass(frozen=True, slots=True)
class HubIdentity:
    """The user's primary Globus identity: its UUID and username (as a spec would
    write either), and the display details Globus Auth gave."""

    id: str
    username: str
    name: str | None = None
    email: str | None = None
    identity_provider: str | None = None


compute_id_token_claims = compute_jwt_claims
"""The payload of a JWT, *not verified* (``reconciler.hub.compute_jwt_claims``)."""


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
        identity_provider=_text(
            chosen.get("identity_provider_display_name")
            or claims.get("identity_provider_display_name")
        ),
    )


def load_hub_identity(environ: Mapping[str, str] | None = None) -> HubIdentity:
    """The signed-in user's primary identity, from ``$GLOBUS_DATA`` in either hub shape
    (the tutorial's decoded id_token, or oauthenticator's ``token_response`` and
    ``globus_user``: see ``reconciler.hub``)."""
    env = os.environ if environ is None else environ
    blob = env.get("GLOBUS_DATA")
    if not blob:
        raise ConfigurationError(
            "GLOBUS_DATA is not set: run this in a notebook started by a Globus-enabled "
            "JupyterHub (or set it to the hub's base64 token bundle)"
        )
    return compute_primary_identity(compute_hub_claims(decode_globus_data(blob)))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
