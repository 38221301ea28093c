"""Edit spec files safely: the gateway's way to request, extend and revoke access.

A science gateway (or a person) asks for a grant or a membership; this package writes
it into the spec files, and the daemon converges Globus from there. Every edit:

- changes only the characters it must (new entries laid out like their neighbours,
  everything else byte-identical: comments, key order, quoting, indentation, line
  endings), using ruamel.yaml's node positions rather than re-serialising a file;
- validates the whole resulting spec set first and refuses (``EditRefused``, with
  located diagnostics), changing nothing, when it would be invalid or break a policy;
- holds the spec directory's lock (in ``.git/``, else ``.reconciler.lock``) from read to write (and
  commit), and writes each file atomically (temporary file, fsync, rename);
- optionally commits the edited files in git.

Modules, from pure to I/O: ``arguments`` (principals, expiries), ``yamltext`` (text and
node spans), ``locating`` (where entries are), ``rendering`` (new entries as YAML),
``splicing`` (text edits), ``proposals`` (what an edit changes), ``workspace``,
``granting``, ``enrolling`` and ``tidying`` (the edits themselves),
``checking`` (the edit changes exactly that, and validates), ``results``; then
``loading``, ``locking``, ``writing``, ``committing``, ``applying`` (one edit end to
end) and ``edits`` (the public functions). ``identity`` reads a JupyterHub user's
identity for notebooks. The public surface is re-exported by ``reconciler.api``.
"""

from reconciler.editing.edits import (
    add_grant,
    add_membership,
    extend_grant,
    extend_membership,
    revoke_grant,
    revoke_membership,
    tidy,
)
from reconciler.editing.errors import AlreadyExists, BadArgument, EditRefused, SpecsLocked
from reconciler.editing.identity import HubIdentity, compute_id_token_claims, load_hub_identity
from reconciler.editing.proposals import Removal
from reconciler.editing.results import CommitOutcome, EditResult

__all__ = [
    "AlreadyExists",
    "BadArgument",
    "CommitOutcome",
    "EditRefused",
    "EditResult",
    "HubIdentity",
    "Removal",
    "SpecsLocked",
    "add_grant",
    "add_membership",
    "compute_id_token_claims",
    "extend_grant",
    "extend_membership",
    "load_hub_identity",
    "revoke_grant",
    "revoke_membership",
    "tidy",
]
