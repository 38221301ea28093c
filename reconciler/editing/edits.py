"""The editing API: add, extend and revoke grants and memberships, and tidy, in a spec
directory. Each call parses its arguments, then runs one locked, validated, atomic edit
(``applying``) and returns an ``EditResult``; a refusal raises ``EditRefused`` (or its
subclasses ``BadArgument`` and ``SpecsLocked``) and changes nothing.

Expiries are given either absolutely (``expires``: ``"2027-01-31"``, an ISO datetime
with a timezone, a ``date`` or an aware ``datetime``) or relatively (``duration``:
``"14d"``, units m h d w, or a ``timedelta``), which is turned into an absolute UTC
instant in whole seconds at the moment of the edit. Documented in docs/gateway.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from reconciler.editing.applying import DEFAULT_LOCK_TIMEOUT, EditOptions, apply_edit, compute_now
from reconciler.editing.arguments import (
    Expiry,
    compute_duration,
    compute_expiry,
    compute_group_ref,
    compute_identity,
    compute_principal,
)
from reconciler.editing.enrolling import (
    MembershipRequest,
    compute_membership_addition,
    compute_membership_extension,
    compute_membership_revocation,
)
from reconciler.editing.errors import BadArgument
from reconciler.editing.granting import (
    GrantRequest,
    compute_grant_addition,
    compute_grant_extension,
    compute_grant_revocation,
)
from reconciler.editing.loading import compute_new_file
from reconciler.editing.proposals import Proposal
from reconciler.editing.results import EditResult
from reconciler.editing.tidying import compute_tidy
from reconciler.editing.workspace import Workspace

Permissions = Literal["r", "rw"]
When = str | date | datetime


def _expiry_at(
    expires: When | None, duration: str | timedelta | None, options: EditOptions
) -> Callable[[datetime], Expiry]:
    """Check the expiry arguments at once (a bad one fails before the lock is taken)
    and return how to compute the instant at the workspace's own time."""
    compute_expiry(expires=expires, duration=duration, now=compute_now(options))
    return lambda now: compute_expiry(expires=expires, duration=duration, now=now)


def _options(dry_run: bool, commit: bool, lock_timeout: float, now: datetime | None) -> EditOptions:
    return EditOptions(dry_run=dry_run, commit=commit, lock_timeout=lock_timeout, now=now)


def _path(value: Path | str) -> Path:
    return value if isinstance(value, Path) else Path(value)


def add_grant(
    specs_dir: Path | str,
    distribution: str,
    principal: str,
    *,
    expires: When | None = None,
    duration: str | timedelta | None = None,
    permissions: Permissions = "r",
    notify: bool | str = False,
    revoke_after_download: bool = False,
    path: str | None = None,
    cleanup: bool | None = None,
    create: bool = False,
    collection: str | None = None,
    file: Path | str | None = None,
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """Add a grant for ``principal`` to ``distribution``, in the file that defines it.

    ``principal``: a username (``alice@example.org``), an identity UUID,
    ``group:<name or UUID>``, ``public:all_authenticated_users`` or
    ``public:anonymous``. Exactly one of ``expires`` and ``duration``. ``notify``:
    True for Globus's email, or the message text. ``path`` overrides the distribution's
    path. ``cleanup`` (None: the collection's policy) says whether the directory is
    deleted when the grant ends. With ``create``, a missing distribution is created in
    ``collection`` (in ``file``, a spec file that may not exist yet) and ``path`` is
    then the new distribution's path. Refused (``EditRefused``) when the distribution
    is unknown, the principal already has a grant on that path (use ``extend_grant``),
    or the result breaks the language or a policy (``max_duration``,
    ``max_permissions``...).
    """
    specs = _path(specs_dir)
    if permissions not in ("r", "rw"):
        raise BadArgument(f"permissions must be `r` or `rw`, not `{permissions}`")
    if file is not None and not create:
        raise BadArgument("`file` only says where a new distribution goes", hint="add --create")
    new_file = compute_new_file(specs, _path(file)) if file is not None else None
    options = _options(dry_run, commit, lock_timeout, now)
    who = compute_principal(principal)
    expiry_at = _expiry_at(expires, duration, options)

    def compute(ws: Workspace) -> Proposal:
        request = GrantRequest(
            distribution=distribution,
            principal=who,
            expiry=expiry_at(ws.now),
            permissions=permissions,
            notify=notify,
            revoke_after_download=revoke_after_download,
            path=path,
            cleanup=cleanup,
            create=create,
            collection=collection,
            file=new_file,
        )
        return compute_grant_addition(ws, request)

    return apply_edit(specs, compute, options, new_file=new_file)


def extend_grant(
    specs_dir: Path | str,
    distribution: str,
    principal: str,
    *,
    expires: When | None = None,
    duration: str | timedelta | None = None,
    path: str | None = None,
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """Give ``principal``'s grant in ``distribution`` a new expiry (``expires`` or
    ``duration``, which counts from now). ``path`` picks the grant when the principal
    has several in the distribution. The expiry may be earlier than before, but not in
    the past (use ``revoke_grant``)."""
    options = _options(dry_run, commit, lock_timeout, now)
    who = compute_principal(principal)
    expiry_at = _expiry_at(expires, duration, options)

    def compute(ws: Workspace) -> Proposal:
        expiry = expiry_at(ws.now)
        return compute_grant_extension(ws, distribution, who, expiry, path=path)

    return apply_edit(_path(specs_dir), compute, options)


def revoke_grant(
    specs_dir: Path | str,
    distribution: str,
    principal: str,
    *,
    path: str | None = None,
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """End ``principal``'s grant in ``distribution`` now: its ``expires`` becomes the
    current instant (UTC, whole seconds), so the entry and its history stay in git and
    the reconciler removes the access. A grant that has already ended is left alone
    (``changed`` is False)."""
    options = _options(dry_run, commit, lock_timeout, now)
    who = compute_principal(principal)
    return apply_edit(
        _path(specs_dir),
        lambda ws: compute_grant_revocation(ws, distribution, who, path=path),
        options,
    )


def add_membership(
    specs_dir: Path | str,
    group: str,
    identity: str,
    *,
    expires: When | None = None,
    duration: str | timedelta | None = None,
    file: Path | str | None = None,
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """Make ``identity`` (a username or identity UUID) a member of the declared
    ``group`` (its name or UUID) until the expiry. Written next to the group's other
    memberships, or in ``file``."""
    specs = _path(specs_dir)
    new_file = compute_new_file(specs, _path(file)) if file is not None else None
    options = _options(dry_run, commit, lock_timeout, now)
    group_ref, who = compute_group_ref(group), compute_identity(identity)
    expiry_at = _expiry_at(expires, duration, options)

    def compute(ws: Workspace) -> Proposal:
        expiry = expiry_at(ws.now)
        request = MembershipRequest(group=group_ref, identity=who, expiry=expiry, file=new_file)
        return compute_membership_addition(ws, request)

    return apply_edit(specs, compute, options, new_file=new_file)


def extend_membership(
    specs_dir: Path | str,
    group: str,
    identity: str,
    *,
    expires: When | None = None,
    duration: str | timedelta | None = None,
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """Give ``identity``'s membership in ``group`` a new expiry."""
    options = _options(dry_run, commit, lock_timeout, now)
    group_ref, who = compute_group_ref(group), compute_identity(identity)
    expiry_at = _expiry_at(expires, duration, options)

    def compute(ws: Workspace) -> Proposal:
        expiry = expiry_at(ws.now)
        return compute_membership_extension(ws, group_ref, who, expiry)

    return apply_edit(_path(specs_dir), compute, options)


def revoke_membership(
    specs_dir: Path | str,
    group: str,
    identity: str,
    *,
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """End ``identity``'s membership in ``group`` now (``expires`` becomes now)."""
    options = _options(dry_run, commit, lock_timeout, now)
    group_ref, who = compute_group_ref(group), compute_identity(identity)
    return apply_edit(
        _path(specs_dir),
        lambda ws: compute_membership_revocation(ws, group_ref, who),
        options,
    )


def tidy(
    specs_dir: Path | str,
    *,
    older_than: str | timedelta = "30d",
    paths: Sequence[Path | str] = (),
    dry_run: bool = False,
    commit: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    now: datetime | None = None,
) -> EditResult:
    """Remove the grants and memberships whose expiry is more than ``older_than`` ago
    (from every spec file, or only those at or below ``paths``, which must be inside
    ``specs_dir``). A distribution left without grants keeps ``grants: []``; comments
    above a removed entry stay. ``removed`` lists what went."""
    specs = _path(specs_dir)
    age = compute_duration(older_than, what="age")
    roots = [_inside(specs, _path(p)) for p in paths]

    def wanted(file: Path) -> bool:
        absolute = _absolute(file)
        return not roots or any(absolute == r or absolute.is_relative_to(r) for r in roots)

    return apply_edit(
        specs,
        lambda ws: compute_tidy(ws, age, only=wanted),
        _options(dry_run, commit, lock_timeout, now),
    )


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _inside(specs: Path, path: Path) -> Path:
    absolute = _absolute(path)
    if not absolute.exists():
        raise BadArgument(f"{path}: no such file or directory")
    if not absolute.is_relative_to(_absolute(specs)):
        raise BadArgument(
            f"{path} is not inside the spec directory {specs}",
            hint=f"pass --specs {path} to tidy that directory",
        )
    return absolute
