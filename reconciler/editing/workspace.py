"""What every edit works on, and the helpers the operations share. Pure.

A ``Workspace`` is a spec directory's files as read under the lock (text and nodes) with
the instant of the edit. ``Builder`` gathers splices and expectations per file into a
``Proposal``'s edits. The rest are small steps that several operations take: refuse an
expiry in the past or an unreadable file, find a distribution, set expiries, append to
a top-level list. Nothing here reads or writes a file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.editing.arguments import Expiry
from reconciler.editing.errors import BadArgument, EditRefused
from reconciler.editing.locating import (
    DistributionSite,
    EntrySite,
    compute_distributions,
    compute_list_sites,
)
from reconciler.editing.proposals import AppendItem, Expectation, FileEdit, Proposal, SetValue
from reconciler.editing.splicing import Splice, splice_add_key, splice_append_item, splice_scalar
from reconciler.editing.yamltext import ParsedText, compute_layout, own_entry
from reconciler.spec.diagnostics import did_you_mean
from reconciler.spec.timeparse import format_instant


@dataclass(frozen=True, slots=True)
class Workspace:
    """A spec directory's files as read under the lock, and the instant of the edit."""

    specs_dir: Path
    files: tuple[ParsedText, ...]
    now: datetime

    def file_at(self, path: Path) -> ParsedText:
        for parsed in self.files:
            if parsed.spec.path == path:
                return parsed
        raise BadArgument(f"{path} is not one of the spec files in {self.specs_dir}")


@dataclass
class Builder:
    """Splices and expectations gathered per file."""

    splices: dict[Path, list[Splice]] = field(default_factory=lambda: defaultdict(list))
    expected: dict[Path, list[Expectation]] = field(default_factory=lambda: defaultdict(list))
    specs: dict[Path, ParsedText] = field(default_factory=dict)

    def add(self, parsed: ParsedText, splices: Sequence[Splice], expected: Expectation) -> None:
        path = parsed.spec.path
        self.specs[path] = parsed
        self.splices[path].extend(splices)
        self.expected[path].append(expected)

    def edits(self) -> tuple[FileEdit, ...]:
        return tuple(
            FileEdit(parsed.spec, tuple(self.splices[path]), tuple(self.expected[path]))
            for path, parsed in self.specs.items()
        )


def require_future(expiry: Expiry, now: datetime, *, verb: str) -> None:
    """Refuse an expiry at or before ``now``: it would grant nothing."""
    if expiry.instant <= now:
        raise EditRefused(
            f"the expiry {expiry.text} is not in the future: there is nothing to {verb}",
            hint="give a later --expires, or a duration with --for (e.g. --for 14d)",
        )


def require_readable(ws: Workspace) -> None:
    """Refuse to edit around a file that cannot be read as YAML."""
    broken = [f for f in ws.files if f.problem is not None]
    if broken:
        raise EditRefused(
            "; ".join(f"{f.spec.name}: {f.problem}" for f in broken),
            hint="fix the file first (`reconciler validate` shows where); nothing was changed",
        )


def find_distribution(
    ws: Workspace, name: str, *, creating: bool, adding: bool = False
) -> DistributionSite | None:
    """The distribution called ``name``; None only when ``creating`` and it is missing.
    ``adding`` offers ``--create`` in the refusal."""
    dists = compute_distributions(ws.files)
    for dist in dists:
        if dist.name == name:
            return dist
    if creating:
        return None
    known = sorted({d.name for d in dists})
    listing = ", ".join(known) if known else "none"
    hint = did_you_mean(name, known)
    create = " or create it with --create --collection NAME" if adding else ""
    raise EditRefused(
        f"there is no distribution `{name}` in {ws.specs_dir} (known: {listing})",
        hint=f"{hint}{create}" if hint else f"check the name{create}",
    )


def append_to_top_list(
    ws: Workspace, builder: Builder, target: ParsedText, key: str, item: dict[str, Any]
) -> None:
    """Append ``item`` to ``key:`` of ``target`` (its last such list), or add the key."""
    layout = compute_layout(target, ws.files, key=key)
    sites = compute_list_sites([target], key)
    if sites:
        site = sites[-1]
        splices = splice_append_item(
            target.spec,
            key=site.key,
            value=site.value,
            item=item,
            layout=layout,
            in_flow=site.in_flow,
        )
        builder.add(target, splices, AppendItem(site.path, item))
        return
    root = target.documents[-1] if target.documents else None
    document = max(len(target.documents) - 1, 0)
    splices = splice_add_key(target.spec, root=root, key=key, item=item, layout=layout)
    builder.add(target, splices, AppendItem((document, key), item))


def now_expiry(now: datetime) -> Expiry:
    """*Now* as the expiry a revocation writes: UTC, whole seconds."""
    instant = now.replace(microsecond=0)
    return Expiry(instant, format_instant(instant))


def set_expiries(
    entries: Sequence[EntrySite],
    expiry: Expiry,
    *,
    summary: str,
    unchanged: str,
    ends_access: bool = False,
) -> Proposal:
    """Write ``expiry`` into each of ``entries`` (only the value's characters); no edits,
    and ``unchanged`` as the summary, when they all expire then already."""
    changing = [e for e in entries if e.expires != expiry.instant or e.expires_text is None]
    if not changing:
        return Proposal(edits=(), summary=unchanged, expires=expiry.instant)
    builder = Builder()
    for entry in changing:
        hit = own_entry(entry.node, "expires")
        if hit is None:
            raise EditRefused(
                f"{entry.location}: this entry has no `expires:` of its own "
                "(it is missing, or comes from a merge key `<<`)",
                hint="edit this entry by hand",
            )
        splice = splice_scalar(entry.file.spec, hit[1], expiry.text)
        builder.add(entry.file, [splice], SetValue((*entry.data_path, "expires"), expiry.text))
    return Proposal(
        edits=builder.edits(), summary=summary, expires=expiry.instant, ends_access=ends_access
    )


def or_similar(hint: str, similar: str | None) -> str:
    """``hint``, after a "did you mean" when there is one."""
    return f"{similar} Otherwise {hint}" if similar else hint[:1].upper() + hint[1:]
