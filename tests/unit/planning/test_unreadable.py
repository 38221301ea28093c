"""A collection Globus refuses to show (403, 404) is left alone: errors on the grants that
use it, nothing planned or pruned there, the rest of the plan unaffected."""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.intent import Intent
from reconciler.core.live import LiveMember, Unreadable
from reconciler.planning import compute_plan
from reconciler.planning.fingerprint import compute_fingerprint
from tests.unit.planning.builders import (
    ADMIN,
    ALICE,
    COLL,
    NOW,
    ORIGIN,
    grant,
    intent,
    live,
    membership,
    rule,
)

FORBIDDEN = Unreadable(403, "transfer 403 PermissionDenied: needs access_manager")
MISSING = Unreadable(404, "transfer 404 EndpointNotFound: no such collection")


def _spec() -> Intent:
    return intent(
        grants=(grant(line=3), grant("bob@example.org", line=7)),
        memberships=(membership("alice@example.org"),),
    )


def test_a_forbidden_collection_gets_errors_on_its_grants_and_no_actions() -> None:
    stale = rule(ADMIN, "/disthome/old/")  # would be pruned if the collection were read
    state = replace(live(rules=(stale,)), unreadable_collections={COLL: FORBIDDEN})
    plan = compute_plan(_spec(), state, now=NOW)
    assert [a.kind for a in plan.actions] == ["add_member"]  # the group still converges
    assert not plan.blocked
    assert [e.origin.line for e in plan.errors if e.origin] == [3, 7]
    assert all("access_manager" in e.message for e in plan.errors)
    assert all("nothing is granted, revoked or pruned there" in e.message for e in plan.errors)


def test_a_missing_collection_says_it_does_not_exist() -> None:
    state = replace(live(), unreadable_collections={COLL: MISSING})
    plan = compute_plan(_spec(), state, now=NOW)
    assert all("does not exist" in e.message for e in plan.errors)


def test_a_collection_no_grant_uses_is_reported_at_its_declaration() -> None:
    state = replace(live(), unreadable_collections={COLL: FORBIDDEN})
    plan = compute_plan(intent(), state, now=NOW)
    (error,) = plan.errors
    assert error.origin == ORIGIN


def test_the_fingerprint_tells_a_readable_collection_from_an_unreadable_one() -> None:
    alice = LiveMember(ALICE, "alice@example.org", "member", "active")
    readable = live(members=(alice,))
    refused = replace(readable, unreadable_collections={COLL: FORBIDDEN})
    assert compute_fingerprint(_spec(), readable) != compute_fingerprint(_spec(), refused)
