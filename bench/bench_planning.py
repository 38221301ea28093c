"""Planning CPU time and peak memory for synthetic grant sets (no network).

Usage: python bench/bench_planning.py [N ...]   (default: 10000 100000)
Prints, per N: cold plan (nothing live yet), steady plan (everything live and matching),
and expiry plan (everything expired, revoke + cleanup), with CPU seconds and peak MiB.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from reconciler.core.intent import (
    CollectionIntent,
    GrantIntent,
    Intent,
    Origin,
    PrincipalRef,
)
from reconciler.core.live import LiveCollection, LiveRule, LiveState
from reconciler.core.plan import GuardPolicy
from reconciler.planning import compute_plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
COLLECTIONS = 5


def synthetic(n: int, *, days: int) -> tuple[Intent, list[LiveRule]]:
    collections = tuple(
        CollectionIntent(
            f"c{i}", str(uuid.UUID(int=i + 1)), "/dist/", True, Origin("c.yaml", i + 1, 1)
        )
        for i in range(COLLECTIONS)
    )
    grants = []
    for i in range(n):
        c = collections[i % COLLECTIONS]
        grants.append(
            GrantIntent(
                distribution=f"d{i % 50}",
                collection=c.name,
                collection_id=c.id,
                principal=PrincipalRef("identity", str(uuid.UUID(int=10**6 + i))),
                path="/dist/{distribution}/{identity_id}/",
                permissions="r",
                expires=NOW + timedelta(days=days),
                notify=False,
                notify_message=None,
                revoke_after_download=False,
                cleanup=True,
                stage=None,
                origin=Origin("g.yaml", i + 1, 5),
            )
        )
    live_rules = [
        LiveRule(
            f"rule-{i}",
            "identity",
            g.principal.value,
            f"/dist/{g.distribution}/{g.principal.value}/",
            "r",
            NOW + timedelta(days=30),
        )
        for i, g in enumerate(grants)
    ]
    return Intent(collections, (), tuple(grants), ()), live_rules


def live_state(intent: Intent, rules: list[LiveRule]) -> LiveState:
    by_collection: dict[str, list[LiveRule]] = {c.id: [] for c in intent.collections}
    for grant, rule in zip(intent.grants, rules, strict=False):
        by_collection[grant.collection_id].append(rule)
    return LiveState(
        collections={cid: LiveCollection(cid, tuple(r)) for cid, r in by_collection.items()},
        groups={},
        identities={},
    )


def measure(label: str, intent: Intent, live: LiveState) -> None:
    """CPU time of an untraced run (best of 3), then peak memory of a traced one
    (tracing slows Python down several times, so the two are never mixed)."""
    guard = GuardPolicy(allow_mass_deletion=True)
    timings = []
    for _ in range(3):
        cpu = time.process_time()
        plan = compute_plan(intent, live, now=NOW, guard=guard)
        timings.append(time.process_time() - cpu)
    tracemalloc.start()
    compute_plan(intent, live, now=NOW, guard=guard)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  {label:<8} {len(intent.grants):>7} grants  {len(plan.actions):>7} actions  "
        f"cpu {min(timings):6.2f} s  peak {peak / 2**20:7.1f} MiB"
    )


def main(sizes: list[int]) -> None:
    print(f"planning benchmark, python {sys.version.split()[0]}, {COLLECTIONS} collections")
    for n in sizes:
        intent, rules = synthetic(n, days=30)
        measure("cold", intent, live_state(intent, []))
        measure("steady", intent, live_state(intent, rules))
        expired, _ = synthetic(n, days=-1)
        measure("expiry", expired, live_state(expired, rules))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
