"""The spec language as pydantic models: one ``SpecFile`` per YAML document.

The models check what one document can check on its own: keys, types, and the syntax
of each value (through the types in ``fields``). Names, references, policies, paths
against roots and conflicts span files and are checked in ``checking``. The docstrings
below become the descriptions an editor shows from the JSON Schema, so they are written
for spec authors. Models are frozen and forbid unknown keys; they are never handed to
planning (``lowering`` turns them into ``reconciler.core.intent`` values).
"""

from __future__ import annotations

from types import UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from reconciler.spec.fields import (
    Duration,
    Email,
    Expiry,
    Grace,
    IdentityRef,
    LocalName,
    Notify,
    NotifyMessage,
    Permissions,
    PlainPath,
    Reference,
    TemplatePath,
    Uuid,
)


class SpecModel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True
    )
    label: ClassVar[str] = "an entry"


class Policy(SpecModel):
    """What the grants of one collection may ask for."""

    label: ClassVar[str] = "a collection policy"

    max_permissions: Permissions = "r"
    """The most a grant may give: `r` (read only) or `rw` (read and write)."""
    max_duration: Duration | None = None
    """The latest a grant may expire, counted from now (e.g. `30d`). No cap when absent."""
    allow_public: bool = False
    """Whether grants to `all_authenticated_users` or `anonymous` are allowed."""
    cleanup: bool = False
    """Whether a revoked grant's directory is deleted (a grant's `cleanup` overrides it)."""
    prune_grace: Grace = "7d"
    """With `cleanup`, how long the directory of a grant no spec asks for any more (a
    deleted grant, or a deleted or renamed spec file) is kept after its rule is removed,
    so restoring the grant in time brings its data back. Expired and downloaded grants'
    directories are removed at once."""


class Collection(SpecModel):
    """A Globus guest collection and the subtree of it this tool owns."""

    label: ClassVar[str] = "a collection"

    id: Uuid
    """The guest collection's UUID."""
    root: PlainPath
    """The directory this tool owns: rules under it that no spec asks for are removed."""
    policy: Policy = Policy()
    """Limits on the grants of this collection."""


class Group(SpecModel):
    """A Globus group whose `member` memberships the specs manage."""

    label: ClassVar[str] = "a group"

    id: Uuid
    """The group's UUID."""
    members: Literal["additive", "exclusive"] = "additive"
    """`additive`: only listed memberships change. `exclusive`: unlisted members are removed."""
    max_duration: Duration | None = None
    """The latest a membership may expire, counted from now (e.g. `90d`)."""


class Stage(SpecModel):
    """Where a distribution's data is copied from before access is granted."""

    label: ClassVar[str] = "a stage"

    collection: Reference
    """The source collection: a declared collection name or a collection UUID."""
    path: PlainPath
    """The source directory."""


class Grant(SpecModel):
    """Access for one principal to one directory until an absolute expiry.

    Exactly one of `identity`, `group` or `public` says who.
    """

    label: ClassVar[str] = "a grant"
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["identity"]},
                {"required": ["group"]},
                {"required": ["public"]},
            ],
            "allOf": [
                {
                    "if": {"not": {"required": ["identity"]}},
                    "then": {
                        "properties": {
                            "notify": {"const": False},
                            "notify_email": False,
                            "notify_message": False,
                            "revoke_after_download": {"const": False},
                        }
                    },
                },
                {
                    "if": {"required": ["notify_message"]},
                    "then": {"required": ["notify"], "properties": {"notify": {"const": True}}},
                },
            ],
        }
    )

    identity: IdentityRef | None = None
    """A Globus username (it contains `@`) or an identity UUID."""
    group: Reference | None = None
    """A declared group name or a group UUID."""
    public: Literal["all_authenticated_users", "anonymous"] | None = None
    """Everyone signed in, or anyone at all; needs `allow_public: true` in the policy."""
    path: TemplatePath | None = None
    """The directory granted (default: the distribution's `path`); strictly under the root."""
    expires: Expiry
    """When access ends: a date (00:00 UTC that day) or a datetime with a timezone."""
    permissions: Permissions = "r"
    """`r` (read only) or `rw` (read and write), within the policy's `max_permissions`."""
    notify: Notify = False
    """Identity grants only: have Globus email the grantee when access is granted."""
    notify_email: Email | None = None
    """With `notify`: the address to email instead of Globus Auth's (often none known)."""
    notify_message: NotifyMessage | None = None
    """Identity grants only, with `notify: true`: the text of the email."""
    revoke_after_download: bool = False
    """Identity grants only: revoke once the grantee has downloaded the whole directory."""
    cleanup: bool | None = None
    """Delete the directory when the grant is revoked (default: the collection policy)."""


class Distribution(SpecModel):
    """A named set of grants in one collection, optionally staged from elsewhere first."""

    label: ClassVar[str] = "a distribution"

    name: LocalName
    """A name unique across all spec files."""
    collection: LocalName
    """The declared collection (its local name) the grants are in."""
    path: TemplatePath | None = None
    """The default directory of its grants."""
    stage: Stage | None = None
    """Copy data in first; access is granted only after the copy succeeded."""
    grants: list[Grant]
    """Who may access what, until when."""


class Membership(SpecModel):
    """A time-limited `member` role in a declared group."""

    label: ClassVar[str] = "a membership"

    group: Reference
    """A declared group: its name or its UUID."""
    identity: IdentityRef
    """A Globus username (it contains `@`) or an identity UUID."""
    expires: Expiry
    """When the membership ends: a date (00:00 UTC that day) or a datetime with a timezone."""


class SpecFile(SpecModel):
    """One reconciler spec file (or one YAML document of it). Specs may be split across any
    number of files; names are global across them."""

    label: ClassVar[str] = "a spec file"
    model_config = ConfigDict(title="reconciler spec file")

    collections: dict[LocalName, Collection] = {}
    """Guest collections by local name."""
    groups: dict[LocalName, Group] = {}
    """Globus groups by local name."""
    distributions: list[Distribution] = []
    """Grants of access, grouped by what is being distributed."""
    memberships: list[Membership] = []
    """Time-limited group memberships."""


def model_at(loc: tuple[str | int, ...]) -> type[SpecModel] | None:
    """The model whose fields are allowed at ``loc`` (a path into a ``SpecFile``)."""
    annotation: Any = SpecFile
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, SpecModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, SpecModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``X | None``."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
