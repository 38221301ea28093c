"""Tidy: remove grants and memberships that expired longer ago than a given age. Pure.

Whole entries go (their own lines, comments inside them included; comment lines above
them stay); a list left empty is written ``[]``, so a distribution whose grants all
expired stays, with ``grants: []`` (removing a distribution is a person's decision).
``compute_tidy`` returns the ``Proposal`` with one ``Removal`` per entry; it writes
nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from ruamel.yaml.nodes import SequenceNode

from reconciler.editing.locating import (
    EntrySite,
    ListSite,
    MembershipSite,
    compute_distributions,
    compute_grants,
    compute_list_sites,
    compute_memberships,
)
from reconciler.editing.proposals import Proposal, Removal, RemoveItems
from reconciler.editing.splicing import splice_remove_items
from reconciler.editing.workspace import Builder, Workspace, require_readable
from reconciler.spec.timeparse import format_instant


def compute_tidy(
    ws: Workspace, older_than: timedelta, *, only: Callable[[Path], bool] | None = None
) -> Proposal:
    """Remove grants and memberships that expired more than ``older_than`` ago, in the
    files ``only`` accepts (default: all). A distribution left without grants keeps
    an empty ``grants: []``."""
    require_readable(ws)
    cutoff = ws.now - older_than
    files = [f for f in ws.files if only is None or only(f.spec.path)]
    builder = Builder()
    removed: list[Removal] = []
    for dist in compute_distributions(files):
        doomed = [g for g in compute_grants(dist) if g.expires is not None and g.expires < cutoff]
        if doomed and dist.grants is not None and isinstance(dist.grants.value, SequenceNode):
            owner = f"{dist.collection or '?'}/{dist.name}"
            removed += [_removal("grant", g, owner, str(g.principal), g.path) for g in doomed]
            _remove(builder, dist.grants, [g.data_path[-1] for g in doomed])
    by_list: dict[tuple[Path, int], list[MembershipSite]] = defaultdict(list)
    for site in compute_memberships(files):
        if site.expires is not None and site.expires < cutoff:
            by_list[(site.file.spec.path, int(site.data_path[0]))].append(site)
    for (path, document), sites in by_list.items():
        parsed = next(f for f in files if f.spec.path == path)
        top = next(s for s in compute_list_sites([parsed], "memberships") if s.document == document)
        removed += [
            _removal("membership", s, s.group or "?", s.identity or "?", None) for s in sites
        ]
        _remove(builder, top, [s.data_path[-1] for s in sites])
    cutoff_text = format_instant(cutoff.replace(microsecond=0))
    if not removed:
        return Proposal(edits=(), summary=f"nothing expired before {cutoff_text}; nothing to tidy")
    grants = sum(r.kind == "grant" for r in removed)
    memberships = len(removed) - grants
    counts = [f"{grants} grant{'s' * (grants != 1)}"] if grants else []
    if memberships:
        counts.append(f"{memberships} membership{'s' * (memberships != 1)}")
    return Proposal(
        edits=builder.edits(),
        summary=f"tidy: remove {' and '.join(counts)} expired before {cutoff_text}",
        details=tuple(str(r) for r in removed),
        removed=tuple(removed),
    )


def _removal(kind: str, site: EntrySite, owner: str, principal: str, path: str | None) -> Removal:
    return Removal(
        kind="grant" if kind == "grant" else "membership",
        location=site.location,
        owner=owner,
        principal=principal,
        path=path,
        expires=site.expires_text or "?",
    )


def _remove(builder: Builder, site: ListSite, indices: Sequence[int | str]) -> None:
    assert isinstance(site.value, SequenceNode)
    numbers = tuple(int(i) for i in indices)
    splices = splice_remove_items(site.file.spec, key=site.key, value=site.value, indices=numbers)
    builder.add(site.file, splices, RemoveItems(site.path, numbers))
