"""The Python API for gateways and notebooks: edit the specs the way the command line
does (``reconciler grant add`` ...), with the same validation, locking, atomic writes and
optional git commit.

    from reconciler import api

    result = api.add_grant("specs", "per-user", "alice@example.org", duration="7d")
    result.changed  # True: specs/tutorial.yaml now holds the grant
    result.expires  # the absolute UTC expiry written, 7 days from now

Every function returns an ``EditResult``; a refusal raises ``EditRefused`` (subclasses
``BadArgument`` for arguments that cannot be understood, ``AlreadyExists`` when the grant
or membership to add is there already, ``SpecsLocked`` when another writer held the lock
too long), carrying located ``diagnostics``, and changes nothing.
See docs/gateway.md. This module only re-exports ``reconciler.editing``.
"""

from reconciler.editing import (
    AlreadyExists,
    BadArgument,
    CommitOutcome,
    EditRefused,
    EditResult,
    HubIdentity,
    Removal,
    SpecsLocked,
    add_grant,
    add_membership,
    compute_id_token_claims,
    extend_grant,
    extend_membership,
    load_hub_identity,
    revoke_grant,
    revoke_membership,
    tidy,
)
from reconciler.editing.identity import compute_primary_identity
from reconciler.spec import Diagnostic

__all__ = [
    "AlreadyExists",
    "BadArgument",
    "CommitOutcome",
    "Diagnostic",
    "EditRefused",
    "EditResult",
    "HubIdentity",
    "Removal",
    "SpecsLocked",
    "add_grant",
    "add_membership",
    "compute_id_token_claims",
    "compute_primary_identity",
    "extend_grant",
    "extend_membership",
    "load_hub_identity",
    "revoke_grant",
    "revoke_membership",
    "tidy",
]
