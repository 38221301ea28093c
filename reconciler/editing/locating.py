"""Where things are declared in a spec set's text: distributions, their grants,
memberships, and the names of collections and groups. Pure.

Each ``*Site`` pairs the plain values an edit needs to decide (a distribution's name,
a grant's principal, path and expiry) with the nodes it needs to change the text, and
with the data path (``(document, "distributions", 2, "grants", 0)``) that
``checking`` uses to confirm that an edit changed exactly what it meant to. Values are
read as written, merged keys (``<<``) included; nothing here judges whether they are
valid (``reconciler.spec`` does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.editing.arguments import Principal
from reconciler.editing.yamltext import (
    ParsedText,
    column_of,
    effective_value,
    is_flow,
    line_of,
    own_entry,
    scalar_text,
)
from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.fields import is_uuid
from reconciler.spec.timeparse import parse_expiry

DataPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ListSite:
    """A top-level (or distribution-level) list: its key and value nodes."""

    file: ParsedText
    document: int
    path: DataPath
    key: ScalarNode
    value: Node
    in_flow: bool = False


@dataclass(frozen=True, slots=True)
class DistributionSite:
    file: ParsedText
    document: int
    index: int
    node: MappingNode
    name: str
    collection: str | None
    path: str | None
    grants: ListSite | None

    @property
    def data_path(self) -> DataPath:
        return (self.document, "distributions", self.index)

    @property
    def line(self) -> int:
        return line_of(self.node)


@dataclass(frozen=True, slots=True)
class EntrySite:
    """A grant or a membership as written, with its parsed expiry (None when invalid)."""

    file: ParsedText
    data_path: DataPath
    node: MappingNode
    expires_text: str | None
    expires: datetime | None

    @property
    def line(self) -> int:
        return line_of(self.node)

    @property
    def location(self) -> str:
        return f"{self.file.spec.name}:{self.line}:{column_of(self.node) + 1}"

    def value(self, key: str) -> str | None:
        return scalar_text(effective_value(self.node, key))


@dataclass(frozen=True, slots=True)
class GrantSite(EntrySite):
    distribution: DistributionSite | None = None
    principal: Principal | None = None
    path: str | None = None
    """The effective path: the grant's own, else its distribution's."""


@dataclass(frozen=True, slots=True)
class MembershipSite(EntrySite):
    group: str | None = None
    identity: str | None = None


def _top_lists(files: Sequence[ParsedText], key: str) -> Iterator[ListSite]:
    for parsed in files:
        for number, root in enumerate(parsed.documents):
            if isinstance(root, MappingNode):
                hit = own_entry(root, key)
                if hit is not None:
                    yield ListSite(parsed, number, (number, key), hit[0], hit[1], is_flow(root))


def compute_list_sites(files: Sequence[ParsedText], key: str) -> list[ListSite]:
    """Every top-level ``key:`` (``distributions``, ``memberships``) in ``files``."""
    return list(_top_lists(files, key))


def compute_distributions(files: Sequence[ParsedText]) -> list[DistributionSite]:
    """Every distribution written in ``files``, in file order."""
    found: list[DistributionSite] = []
    for site in _top_lists(files, "distributions"):
        if not isinstance(site.value, SequenceNode):
            continue
        for index, node in enumerate(site.value.value):
            if not isinstance(node, MappingNode):
                continue
            name = scalar_text(effective_value(node, "name"))
            if name is None:
                continue
            grants_entry = own_entry(node, "grants")
            grants = None
            if grants_entry is not None:
                grants = ListSite(
                    site.file,
                    site.document,
                    (site.document, "distributions", index, "grants"),
                    grants_entry[0],
                    grants_entry[1],
                    in_flow=is_flow(node),
                )
            found.append(
                DistributionSite(
                    file=site.file,
                    document=site.document,
                    index=index,
                    node=node,
                    name=name,
                    collection=scalar_text(effective_value(node, "collection")),
                    path=scalar_text(effective_value(node, "path")),
                    grants=grants,
                )
            )
    return found


def _expiry(node: MappingNode) -> tuple[str | None, datetime | None]:
    text = scalar_text(effective_value(node, "expires"))
    if text is None:
        return None, None
    try:
        return text, parse_expiry(text)
    except SpecValueError:
        return text, None


def compute_grants(distribution: DistributionSite) -> list[GrantSite]:
    """The grants of ``distribution`` that are mappings, with their principals."""
    grants = distribution.grants
    if grants is None or not isinstance(grants.value, SequenceNode):
        return []
    found: list[GrantSite] = []
    for index, node in enumerate(grants.value.value):
        if not isinstance(node, MappingNode):
            continue
        text, instant = _expiry(node)
        found.append(
            GrantSite(
                file=distribution.file,
                data_path=(*grants.path, index),
                node=node,
                expires_text=text,
                expires=instant,
                distribution=distribution,
                principal=_principal(node),
                path=scalar_text(effective_value(node, "path")) or distribution.path,
            )
        )
    return found


def _principal(node: MappingNode) -> Principal | None:
    for kind in ("identity", "group", "public"):
        value = scalar_text(effective_value(node, kind))
        if value is not None:
            return Principal(kind, value)
    return None


def compute_memberships(files: Sequence[ParsedText]) -> list[MembershipSite]:
    """Every membership written in ``files``."""
    found: list[MembershipSite] = []
    for site in _top_lists(files, "memberships"):
        if not isinstance(site.value, SequenceNode):
            continue
        for index, node in enumerate(site.value.value):
            if not isinstance(node, MappingNode):
                continue
            text, instant = _expiry(node)
            found.append(
                MembershipSite(
                    file=site.file,
                    data_path=(site.document, "memberships", index),
                    node=node,
                    expires_text=text,
                    expires=instant,
                    group=scalar_text(effective_value(node, "group")),
                    identity=scalar_text(effective_value(node, "identity")),
                )
            )
    return found


def compute_declared(
    files: Sequence[ParsedText], key: str
) -> dict[str, tuple[ParsedText, str | None]]:
    """The names declared under top-level ``key`` (``collections``, ``groups``): each
    with its file and its ``id`` as written."""
    declared: dict[str, tuple[ParsedText, str | None]] = {}
    for parsed in files:
        for root in parsed.documents:
            if not isinstance(root, MappingNode):
                continue
            hit = own_entry(root, key)
            if hit is None or not isinstance(hit[1], MappingNode):
                continue
            for name_node, body in hit[1].value:
                if isinstance(name_node, ScalarNode) and name_node.value not in declared:
                    ident = effective_value(body, "id") if isinstance(body, MappingNode) else None
                    declared[str(name_node.value)] = (parsed, scalar_text(ident))
    return declared


def canonical_group(ref: str, groups: dict[str, tuple[ParsedText, str | None]]) -> str:
    """A group reference (a declared name or a UUID) as the group's UUID when known."""
    if is_uuid(ref):
        return ref.lower()
    declared = groups.get(ref)
    return (declared[1] or ref).lower() if declared else ref


def canonical_identity(ref: str) -> str:
    """Identities compare without case (Globus usernames and UUIDs ignore it)."""
    return ref.strip().lower()


def same_principal(
    a: Principal, b: Principal, groups: dict[str, tuple[ParsedText, str | None]]
) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "group":
        return canonical_group(a.value, groups) == canonical_group(b.value, groups)
    if a.kind == "identity":
        return canonical_identity(a.value) == canonical_identity(b.value)
    return a.value == b.value
