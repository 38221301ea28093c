"""The names a spec set declares across all its files, and the duplicates among them.

Collection, group and distribution names are global across files, and so are
collection and group UUIDs: declaring one twice would leave two owners of the same
rules or members, so it is an error citing both places. The ``Index`` then answers
"which collection or group does this reference mean" for ``checking`` and ``lowering``.
It reports duplicates and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from reconciler.spec.diagnostics import Report
from reconciler.spec.fields import is_uuid
from reconciler.spec.models import Collection, Distribution, Group, Membership
from reconciler.spec.validating import Entry, Fragment

N = TypeVar("N", Collection, Group)


@dataclass(frozen=True, slots=True)
class Index:
    """Every valid declaration of a spec set, by name and by UUID."""

    collections: Mapping[str, Entry[Collection]]
    groups: Mapping[str, Entry[Group]]
    distributions: tuple[Entry[Distribution], ...]
    memberships: tuple[Entry[Membership], ...]
    broken_collections: frozenset[str]
    """Declared, but invalid: a reference to one is not reported as unknown."""
    broken_groups: frozenset[str]
    unreadable: tuple[str, ...] = ()
    """Files that could not be read: a name they declare looks unknown."""

    def collection_id(self, ref: str) -> str | None:
        """The UUID a stage's ``collection`` (a UUID or a declared name) means."""
        if is_uuid(ref):
            return ref
        entry = self.collections.get(ref)
        return entry.model.id if entry else None

    def group_id(self, ref: str) -> str | None:
        """The UUID a grant's ``group`` (a UUID or a declared name) means."""
        if is_uuid(ref):
            return ref
        entry = self.groups.get(ref)
        return entry.model.id if entry else None

    def declared_group(self, ref: str) -> Entry[Group] | None:
        """The declared group a membership's ``group`` (its name or its UUID) means."""
        if not is_uuid(ref):
            return self.groups.get(ref)
        return next((e for e in self.groups.values() if e.model.id == ref), None)


def compute_index(
    fragments: Iterable[Fragment], report: Report, *, unreadable: Iterable[str] = ()
) -> Index:
    """The index of ``fragments``; each duplicate declaration is an error on the later one."""
    fragments = tuple(fragments)
    collections = _named((e for f in fragments for e in f.collections), "collection", report)
    groups = _named((e for f in fragments for e in f.groups), "group", report)
    distributions: dict[str, Entry[Distribution]] = {}
    for entry in (e for f in fragments for e in f.distributions):
        first = distributions.setdefault(entry.model.name, entry)
        if first is not entry:
            report.error(
                entry.where.at("name"),
                f"distribution `{entry.model.name}` is already declared at {first.where.at()}",
                hint="distribution names are global across spec files: rename one",
            )
    return Index(
        collections=collections,
        groups=groups,
        distributions=tuple(e for f in fragments for e in f.distributions),
        memberships=tuple(e for f in fragments for e in f.memberships),
        broken_collections=frozenset(n for f in fragments for n in f.broken_collections),
        broken_groups=frozenset(n for f in fragments for n in f.broken_groups),
        unreadable=tuple(unreadable),
    )


def _named(entries: Iterable[Entry[N]], kind: str, report: Report) -> dict[str, Entry[N]]:
    by_name: dict[str, Entry[N]] = {}
    by_id: dict[str, Entry[N]] = {}
    for entry in entries:
        first = by_name.setdefault(entry.name, entry)
        if first is not entry:
            report.error(
                entry.where.key(),
                f"{kind} `{entry.name}` is already declared at {first.where.key()}",
                hint=f"{kind} names are global across spec files: rename or remove one",
            )
            continue
        twin = by_id.setdefault(entry.model.id, entry)
        if twin is not entry:
            report.error(
                entry.where.at("id"),
                f"{kind} {entry.model.id} is already declared as `{twin.name}` "
                f"at {twin.where.key()}",
                hint=f"declare each {kind} once and refer to it by that name",
            )
    return by_name
