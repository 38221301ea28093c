"""What an expiry wake looks at: the collections and groups where something expired in
an interval, the next expiry, and the intent cut down to them (planned whole)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reconciler.core.intent import CollectionIntent, PrincipalRef
from reconciler.core.live import LiveCollection
from reconciler.daemon.expiring import (
    compute_due,
    compute_expiry_index,
    compute_next_expiry,
    compute_partial_intent,
)
from reconciler.planning import compute_plan
from tests.unit.planning.builders import (
    ADMIN_ROLE,
    ALICE,
    COLL,
    GROUP,
    NOW,
    ORIGIN,
    grant,
    intent,
    live,
    membership,
    rule,
)

OTHER = "e56c36e4-1063-11e6-a747-0000000000ff"


def two_collections():  # type: ignore[no-untyped-def]
    here = grant("alice@example.org", days=1)
    there = replace(grant("bob@example.org", days=2), collection="other", collection_id=OTHER)
    shared = replace(
        grant("", kind="group", days=3, path="/disthome/shared/"),
        principal=PrincipalRef("group", GROUP),
        collection="other",
        collection_id=OTHER,
    )
    base = intent((here, there, shared), (membership("bob@example.org", days=2),))
    other = CollectionIntent("other", OTHER, "/disthome/", True, ORIGIN)
    return replace(base, collections=(*base.collections, other))


def test_due_collections_and_groups_are_those_expiring_in_the_interval() -> None:
    index = compute_expiry_index(two_collections())
    day = timedelta(days=1)
    assert compute_due(index, after=NOW, until=NOW + day) == (frozenset({COLL}), frozenset())
    assert compute_due(index, after=NOW + day, until=NOW + 2 * day) == (
        frozenset({OTHER}),
        frozenset({GROUP}),
    )
    # The interval is open at its start: what the last pass already saw is not due.
    assert compute_due(index, after=NOW + 3 * day, until=NOW + 9 * day) == (
        frozenset(),
        frozenset(),
    )
    assert compute_due(index, after=NOW, until=NOW + 9 * day)[0] == {COLL, OTHER}


def test_the_next_expiry_is_strictly_after_now() -> None:
    index = compute_expiry_index(two_collections())
    assert compute_next_expiry(index, NOW) == NOW + timedelta(days=1)
    assert compute_next_expiry(index, NOW + timedelta(days=1)) == NOW + timedelta(days=2)
    assert compute_next_expiry(index, NOW + timedelta(days=3)) is None


def test_the_partial_intent_keeps_whole_collections_and_the_groups_their_grants_name() -> None:
    whole = two_collections()
    part = compute_partial_intent(whole, {OTHER}, ())
    assert [c.id for c in part.collections] == [OTHER]
    assert {g.principal.value for g in part.grants} == {"bob@example.org", GROUP}
    # The group a grant names stays (with its memberships), so it keeps its name.
    assert [g.id for g in part.groups] == [GROUP]
    assert part.memberships == whole.memberships
    only_first = compute_partial_intent(whole, {COLL}, ())
    assert only_first.groups == ()
    assert only_first.memberships == ()


def test_planning_the_part_plans_what_the_whole_plans_there() -> None:
    """Alice's grant on the first collection expired (her rule is still there); the other
    collection misses bob's rule. The part plans the revocation, exactly as the whole
    does, and nothing about the other collection."""
    whole = two_collections()
    at = NOW + timedelta(days=1, seconds=1)
    alice_rule = rule(ALICE, f"/disthome/{ALICE}/", expires=NOW + timedelta(days=1))
    world = live((ADMIN_ROLE, alice_rule))
    everything = replace(
        world, collections={**world.collections, OTHER: LiveCollection(OTHER, (ADMIN_ROLE,))}
    )
    part = compute_partial_intent(whole, {COLL}, ())
    partial = compute_plan(part, world, now=at)
    full = compute_plan(whole, everything, now=at)
    assert not partial.blocked
    assert not full.blocked
    assert [a.kind for a in partial.actions] == ["delete_rule"]  # no directory it made
    assert [a for a in full.actions if getattr(a, "collection_id", None) == COLL] == list(
        partial.actions
    )
    assert any(getattr(a, "collection_id", None) == OTHER for a in full.actions)
