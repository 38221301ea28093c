"""Plain-data builders for planner tests: intents, live states and a pure simulator that
applies a plan's effects to a live state (what Globus would hold afterwards)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from reconciler.core.actions import (
    AddMember,
    CreateRule,
    DeleteRule,
    RemoveMember,
    UpdateRule,
)
from reconciler.core.intent import (
    CollectionIntent,
    GrantIntent,
    GroupIntent,
    Intent,
    MembershipIntent,
    Origin,
    PrincipalRef,
)
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import (
    Identity,
    LiveCollection,
    LiveGroup,
    LiveMember,
    LiveRule,
    LiveState,
)
from reconciler.core.plan import Plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
COLL = "e56c36e4-1063-11e6-a747-22000bf2d559"
GROUP = "b4cada3a-af7c-11e3-8b90-1231391ccf32"
ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "bbbbbbbb-0000-4000-8000-000000000002"
CAROL = "cccccccc-0000-4000-8000-000000000003"
ADMIN = "dddddddd-0000-4000-8000-000000000004"
ORIGIN = Origin("specs/t.yaml", 1, 1)

IDENTITIES = {
    "alice@example.org": Identity(ALICE, "alice@example.org", "alice@example.org"),
    "bob@example.org": Identity(BOB, "bob@example.org", None),
    ALICE: Identity(ALICE, "alice@example.org", "alice@example.org"),
    BOB: Identity(BOB, "bob@example.org", None),
}


def collection(*, cleanup: bool = True, root: str = "/disthome/") -> CollectionIntent:
    return CollectionIntent("petrel", COLL, root, cleanup, ORIGIN)


def group(mode: str = "additive") -> GroupIntent:
    return GroupIntent("tutorial", GROUP, mode, ORIGIN)  # type: ignore[arg-type]


def grant(
    who: str = "alice@example.org",
    *,
    kind: str = "identity",
    path: str = "/disthome/{identity_id}/",
    days: float = 30,
    permissions: str = "r",
    notify: bool = False,
    cleanup: bool = True,
    line: int = 1,
) -> GrantIntent:
    return GrantIntent(
        distribution="run42",
        collection="petrel",
        collection_id=COLL,
        principal=PrincipalRef(kind, who),  # type: ignore[arg-type]
        path=path,
        permissions=permissions,  # type: ignore[arg-type]
        expires=NOW + timedelta(days=days),
        notify=notify,
        notify_message=None,
        revoke_after_download=False,
        cleanup=cleanup,
        stage=None,
        origin=Origin("specs/t.yaml", line, 5),
    )


def membership(who: str, *, days: float = 30) -> MembershipIntent:
    return MembershipIntent("tutorial", GROUP, who, NOW + timedelta(days=days), ORIGIN)


def intent(
    grants: tuple[GrantIntent, ...] = (),
    memberships: tuple[MembershipIntent, ...] = (),
    *,
    mode: str = "additive",
    cleanup: bool = True,
) -> Intent:
    return Intent((collection(cleanup=cleanup),), (group(mode),), grants, memberships)


def rule(
    principal: str,
    path: str,
    *,
    rule_id: str | None = None,
    kind: str = "identity",
    permissions: str = "r",
    expires: datetime | None = None,
    role: bool = False,
) -> LiveRule:
    return LiveRule(
        id=None if role else (rule_id or f"rule-{principal[:4]}-{path}"),
        principal_type=kind,  # type: ignore[arg-type]
        principal=principal,
        path=path,
        permissions=permissions,  # type: ignore[arg-type]
        expires=expires,
        role_id="role-1" if role else None,
    )


ADMIN_ROLE = rule(ADMIN, "/", role=True, permissions="rw")


def made(*paths: str, **facts: object) -> Lifecycle:
    """What a state store remembers when the reconciler made these grant directories
    (the only directories it ever removes)."""
    return Lifecycle(
        durable=True,
        made_directories=frozenset((COLL, path) for path in paths),
        **facts,  # type: ignore[arg-type]
    )


def live(
    rules: tuple[LiveRule, ...] = (ADMIN_ROLE,),
    members: tuple[LiveMember, ...] = (LiveMember(ADMIN, "admin@example.org", "admin", "active"),),
) -> LiveState:
    return LiveState(
        collections={COLL: LiveCollection(COLL, rules)},
        groups={GROUP: LiveGroup(GROUP, members)},
        identities=IDENTITIES,
    )


def simulate(state: LiveState, plan: Plan) -> LiveState:
    """What Globus holds after every action of ``plan`` succeeded."""
    collections = {cid: list(c.rules) for cid, c in state.collections.items()}
    groups = {gid: {m.identity_id: m for m in g.members} for gid, g in state.groups.items()}
    counter = 0
    for action in plan.actions:
        if isinstance(action, CreateRule):
            counter += 1
            collections[action.collection_id].append(
                LiveRule(
                    f"new-{counter}",
                    action.principal.type,
                    action.principal.id,
                    action.path,
                    action.permissions,
                    action.expires,
                )
            )
        elif isinstance(action, UpdateRule):
            collections[action.collection_id] = [
                replace(r, permissions=action.permissions, expires=action.expires)
                if r.id == action.rule_id
                else r
                for r in collections[action.collection_id]
            ]
        elif isinstance(action, DeleteRule):
            collections[action.collection_id] = [
                r for r in collections[action.collection_id] if r.id != action.rule_id
            ]
        elif isinstance(action, AddMember):
            groups[action.group_id][action.principal.id] = LiveMember(
                action.principal.id, action.principal.label, "member", "active"
            )
        elif isinstance(action, RemoveMember):
            groups[action.group_id].pop(action.principal.id, None)
    return LiveState(
        collections={cid: LiveCollection(cid, tuple(rules)) for cid, rules in collections.items()},
        groups={gid: LiveGroup(gid, tuple(members.values())) for gid, members in groups.items()},
        identities=state.identities,
    )
