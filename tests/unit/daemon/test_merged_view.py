"""An expiry pass plans part of the spec set; the status page is shown its plan over
what the passes before planned and did elsewhere (``compute_merged_view``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reconciler.core.live import LiveCollection, LiveState
from reconciler.daemon.viewing import View, compute_merged_view
from reconciler.executing import Outcome
from reconciler.planning import compute_plan
from tests.unit.planning.builders import ADMIN_ROLE, COLL, NOW, grant, intent, live

OTHER = "e56c36e4-1063-11e6-a747-0000000000ff"


def test_the_fresh_part_replaces_its_collection_and_the_rest_is_kept() -> None:
    here = intent((grant("alice@example.org"),))
    there = replace(
        intent((grant("bob@example.org"),)),
        collections=(replace(here.collections[0], name="other", id=OTHER),),
        grants=(replace(grant("bob@example.org"), collection="other", collection_id=OTHER),),
    )
    other_live = LiveState(
        collections={OTHER: LiveCollection(OTHER, (ADMIN_ROLE,))},
        groups={},
        identities=live().identities,
    )
    before_plan = compute_plan(there, other_live, now=NOW)
    old = [Outcome(a, "done", "created") for a in before_plan.actions]
    before = View(other_live, before_plan, old)
    fresh_plan = compute_plan(here, live(), now=NOW + timedelta(seconds=1))
    fresh = View(replace(live(), groups={}), fresh_plan, [])

    merged = compute_merged_view(before, fresh)
    assert set(merged.live.collections) == {COLL, OTHER}
    assert merged.plan.actions == before_plan.actions + fresh_plan.actions
    assert merged.plan.now == fresh_plan.now
    assert merged.outcomes == old  # the fresh plan's outcomes are added as they come
    assert compute_merged_view(None, fresh) is fresh
    # Laying a part over a view that already had it replaces it, outcomes included.
    again = compute_merged_view(merged, View(other_live, before_plan, []))
    assert again.plan.actions == fresh_plan.actions + before_plan.actions
    assert again.outcomes == []
