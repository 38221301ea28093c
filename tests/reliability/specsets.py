"""Generated spec sets and the world they should produce.

A ``SpecSet`` is a list of grants and memberships for one collection and one group,
written as spec files exactly as a person would write them, together with what the
sandbox must hold once they are applied: which rules (by principal and path, with their
expiry), which directories, which members. The expectations are computed here, from the
generated values, not by the reconciler's own lowering, so a bug there cannot hide.

Grant kinds, by index: most are per-user directories (``/disthome/u/{identity_id}/``,
resolved through Auth), some are nested project paths written out
(``/disthome/p3/user0007/``), and some are group grants on shared paths.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from reconciler.sandbox.auth import identity_id_for

COLLECTION = "7e1ab1e0-0000-4000-8000-00000000c011"
GROUP_ID = "7e1ab1e0-0000-4000-8000-0000000060a1"
ROOT = "/disthome/"
CHUNK = 100
"""Grants per distribution file: a large spec set is spread over several files."""

Kind = Literal["user", "project", "group"]
RuleKey = tuple[str, str, str]
"""(principal type, principal id, path)."""


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def username(index: int) -> str:
    return f"user{index:04}@example.org"


def kind_of(index: int) -> Kind:
    rest = index % 10
    return "user" if rest < 7 else "project" if rest < 9 else "group"


@dataclass(frozen=True, slots=True)
class Grant:
    index: int
    expires: datetime

    @property
    def kind(self) -> Kind:
        return kind_of(self.index)

    @property
    def path(self) -> str:
        if self.kind == "user":
            return f"{ROOT}u/{identity_id_for(username(self.index))}/"
        if self.kind == "project":
            return f"{ROOT}p{self.index % 7}/user{self.index:04}/"
        return f"{ROOT}shared/g{self.index:04}/"

    @property
    def key(self) -> RuleKey:
        if self.kind == "group":
            return ("group", GROUP_ID, self.path)
        return ("identity", identity_id_for(username(self.index)), self.path)

    def yaml(self) -> str:
        if self.kind == "group":
            head, path = "group: team", self.path
        elif self.kind == "user":
            head, path = f"identity: {username(self.index)}", f"{ROOT}u/{{identity_id}}/"
        else:
            head, path = f"identity: {username(self.index)}", self.path
        return f"      - {head}\n        path: {path}\n        expires: {iso(self.expires)}\n"


@dataclass(frozen=True, slots=True)
class Membership:
    index: int
    expires: datetime

    @property
    def identity_id(self) -> str:
        return identity_id_for(username(self.index))


@dataclass(frozen=True, slots=True)
class SpecSet:
    grants: tuple[Grant, ...]
    memberships: tuple[Membership, ...] = ()

    def write(self, directory: Path) -> None:
        """Replace every spec file in ``directory`` with this spec set."""
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.yaml"):
            old.unlink()
        (directory / "collections.yaml").write_text(
            "collections:\n  rel:\n"
            f"    id: {COLLECTION}\n    root: {ROOT}\n"
            "    policy: {max_permissions: r, max_duration: 730d, cleanup: true}\n"
            f"groups:\n  team:\n    id: {GROUP_ID}\n    members: additive\n",
            encoding="utf-8",
        )
        grants = sorted(self.grants, key=lambda g: g.index)
        for start in range(0, len(grants), CHUNK):
            chunk = grants[start : start + CHUNK]
            text = (
                f"distributions:\n  - name: batch-{start // CHUNK:03}\n"
                "    collection: rel\n    grants:\n" + "".join(g.yaml() for g in chunk)
            )
            (directory / f"grants-{start // CHUNK:03}.yaml").write_text(text, encoding="utf-8")
        if self.memberships:
            lines = ["memberships:"]
            for m in sorted(self.memberships, key=lambda m: m.index):
                lines += [
                    "  - group: team",
                    f"    identity: {username(m.index)}",
                    f"    expires: {iso(m.expires)}",
                ]
            (directory / "memberships.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def wanted(self, now: datetime) -> dict[RuleKey, datetime]:
        """The rules that must exist, with their expiry: grants still in force."""
        return {g.key: g.expires for g in self.grants if g.expires > now}

    def paths(self) -> set[str]:
        return {g.path for g in self.grants}

    def members(self, now: datetime) -> set[str]:
        return {m.identity_id for m in self.memberships if m.expires > now}

    def expired_members(self, now: datetime) -> set[str]:
        return {m.identity_id for m in self.memberships if m.expires <= now}


def later(rng: random.Random, now: datetime) -> datetime:
    """A whole-second expiry 100 to 300 days ahead (well inside the 730d policy)."""
    return (now + timedelta(days=rng.randint(100, 300), seconds=rng.randint(0, 86399))).replace(
        microsecond=0
    )


def make_grants(rng: random.Random, indices: Iterable[int], now: datetime) -> tuple[Grant, ...]:
    return tuple(Grant(i, later(rng, now)) for i in indices)


@dataclass(frozen=True, slots=True)
class Evolution:
    """A spec set before and after an edit, and what the edit did."""

    before: SpecSet
    after: SpecSet
    removed: frozenset[int]
    """Grants deleted from the specs (their rules are pruned)."""
    revoked: frozenset[int]
    """Grants kept in the specs with ``expires`` moved to the past (revoked early)."""
    updated: frozenset[int]
    """Grants whose expiry moved (their rules are updated in place)."""
    added: frozenset[int]


def evolve(
    rng: random.Random,
    before: SpecSet,
    *,
    now: datetime,
    add: Iterable[int],
    remove: int,
    revoke: int,
    update: int,
    members_added: Iterable[int] = (),
    members_expired: int = 0,
) -> Evolution:
    """The next version of ``before``: ``remove`` grants deleted, ``revoke`` revoked early,
    ``update`` with a new expiry, the ``add`` indices granted, memberships added/expired."""
    indices = sorted(g.index for g in before.grants)
    chosen = rng.sample(indices, remove + revoke + update)
    removed = frozenset(chosen[:remove])
    revoked = frozenset(chosen[remove : remove + revoke])
    updated = frozenset(chosen[remove + revoke :])
    past = (now - timedelta(hours=1)).replace(microsecond=0)
    grants: list[Grant] = []
    for grant in before.grants:
        if grant.index in revoked:
            grants.append(replace(grant, expires=past))
        elif grant.index in updated:
            moved = grant.expires + timedelta(days=rng.randint(1, 30))
            grants.append(replace(grant, expires=moved))
        elif grant.index not in removed:
            grants.append(grant)
    added = tuple(add)
    grants.extend(make_grants(rng, added, now))
    memberships = list(before.memberships)
    expiring = set(rng.sample([m.index for m in memberships], members_expired))
    memberships = [replace(m, expires=past) if m.index in expiring else m for m in memberships]
    memberships += [Membership(i, later(rng, now)) for i in members_added]
    return Evolution(
        before,
        SpecSet(tuple(grants), tuple(memberships)),
        removed,
        revoked,
        updated,
        frozenset(added),
    )


# --- the world, as the sandbox holds it --------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorldView:
    rules: tuple[Mapping[str, Any], ...]
    """Non-role rules of the collection."""
    directories: frozenset[str]
    """Directory paths, with a trailing ``/``."""
    members: Mapping[str, tuple[str, str]]
    """identity id -> (role, status) in the group."""

    def rule_ids(self) -> dict[RuleKey, list[str]]:
        out: dict[RuleKey, list[str]] = {}
        for rule in self.rules:
            key = (str(rule["principal_type"]), str(rule["principal"]), str(rule["path"]))
            out.setdefault(key, []).append(str(rule["id"]))
        return out


def read_world(dump: Mapping[str, Any]) -> WorldView:
    collection = next((c for c in dump["collections"] if c["id"] == COLLECTION), None)
    group = next((g for g in dump["groups"] if g["id"] == GROUP_ID), None)
    rules = tuple(collection["rules"]) if collection else ()
    tree = collection["tree"] if collection else []
    return WorldView(
        rules=rules,
        directories=frozenset(e["path"].rstrip("/") + "/" for e in tree if e["type"] == "dir"),
        members={
            m["identity_id"]: (m["role"], m["status"]) for m in (group or {}).get("memberships", [])
        },
    )


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def compute_problems(
    view: WorldView,
    spec: SpecSet,
    *,
    now: datetime,
    gone_paths: Iterable[str] = (),
) -> list[str]:
    """Everything about ``view`` that is not what ``spec`` asks for: missing, extra,
    duplicate or wrong rules; wanted directories missing; directories left behind at
    ``gone_paths`` (grants no longer wanted, with cleanup on); members missing or kept."""
    wanted = spec.wanted(now)
    return [
        *_rule_problems(view, wanted),
        *_directory_problems(view, {key[2] for key in wanted}, gone_paths),
        *_member_problems(view, spec, now),
    ]


def _rule_problems(view: WorldView, wanted: Mapping[RuleKey, datetime]) -> list[str]:
    problems: list[str] = []
    owned = {k: v for k, v in view.rule_ids().items() if k[2].startswith(ROOT) and k[2] != ROOT}
    for key, rule_ids in sorted(owned.items()):
        if len(rule_ids) > 1:
            problems.append(f"duplicate rules {rule_ids} for {key}")
        if key not in wanted:
            problems.append(f"orphan rule {rule_ids} for {key}")
    problems += [f"missing rule for {key}" for key in sorted(set(wanted) - set(owned))]
    for rule in view.rules:
        key = (str(rule["principal_type"]), str(rule["principal"]), str(rule["path"]))
        if key not in wanted:
            continue
        expires = rule.get("expiration_date")
        if not expires or int(parse_instant(expires).timestamp()) != int(wanted[key].timestamp()):
            problems.append(f"rule {rule['id']} for {key} expires {expires}, not {wanted[key]}")
        if rule.get("permissions") != "r":
            problems.append(f"rule {rule['id']} for {key} has permissions {rule['permissions']}")
    return problems


def _directory_problems(
    view: WorldView, wanted_paths: set[str], gone_paths: Iterable[str]
) -> list[str]:
    problems = [
        f"directory {path} of a wanted grant is missing"
        for path in sorted(wanted_paths - view.directories)
    ]
    problems += [
        f"orphan directory {path}: its grant is gone and cleanup is on"
        for path in sorted(set(gone_paths) - wanted_paths)
        if path in view.directories
    ]
    return problems


def _member_problems(view: WorldView, spec: SpecSet, now: datetime) -> list[str]:
    problems = [
        f"member {identity} is {view.members.get(identity)}, not active"
        for identity in sorted(spec.members(now))
        if view.members.get(identity) != ("member", "active")
    ]
    problems += [
        f"expired member {identity} is still active"
        for identity in sorted(spec.expired_members(now))
        if view.members.get(identity, ("", ""))[1] == "active"
    ]
    return problems
