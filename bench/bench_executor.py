"""The executor's own scheduling cost per action, as plans grow (no network).

Usage: python bench/bench_executor.py [N ...] [--concurrency 16] [--repeat 3]
                                      [--latency-ms 1] [--compare FILE]

A cold plan of N grants (N per-user directories under 5 parents, then N rules, each
waiting for its directory: 2N + 5 actions) is executed against an in-memory port that
sleeps ``--latency-ms`` per call and does nothing else, so the CPU spent is the
executor's: building the dependency graph, the ready queue, submitting to the thread
pool and collecting results. Prints the
process CPU time per action (best of ``--repeat``), which should stay flat as N grows.
``--compare FILE`` also times another executor module (say the previous version, from
``git show REV:reconciler/executing.py > /tmp/old_executing.py``) on the same plans.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from reconciler import executing
from reconciler.core.actions import CreateRule, DeleteRule, MakeDirectory, StageData, UpdateRule
from reconciler.core.intent import CollectionIntent, GrantIntent, Intent, Origin, PrincipalRef
from reconciler.core.live import LiveCollection, LiveRule, LiveState
from reconciler.core.plan import Plan
from reconciler.planning import compute_plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
COLLECTION = "e56c36e4-1063-11e6-a747-000000000001"


@dataclass(frozen=True)
class Created:
    rule_id: str
    adopted: bool = False


class InstantPort:
    """Answers every call after ``latency`` seconds of sleeping (no CPU): the CPU spent
    is the executor's. A little latency keeps actions in flight, as Globus does."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def make_directory(self, action: MakeDirectory) -> bool:
        time.sleep(self.latency)
        return True

    def stage_data(self, action: StageData) -> str:
        return "task"

    def create_rule(self, action: CreateRule) -> Created:
        time.sleep(self.latency)
        return Created("rule")

    def update_rule(self, action: UpdateRule) -> None:
        return None

    def delete_rule(self, action: DeleteRule) -> bool:
        time.sleep(self.latency)
        return True

    def remove_directories(self, collection_id: str, paths: Sequence[str]) -> str:
        return "task"

    def change_members(
        self,
        group_id: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        approve: Sequence[str] = (),
    ) -> Mapping[str, str | None]:
        return {}


def cold_plan(grants: int) -> Plan:
    collection = CollectionIntent("c", COLLECTION, "/dist/", True, Origin("c.yaml", 1, 1))
    intent = Intent(
        collections=(collection,),
        groups=(),
        grants=tuple(
            GrantIntent(
                distribution=f"d{i % 5}",
                collection="c",
                collection_id=COLLECTION,
                principal=PrincipalRef("identity", str(uuid.UUID(int=10**6 + i))),
                path="/dist/{distribution}/{identity_id}/",
                permissions="r",
                expires=NOW + timedelta(days=30),
                notify=False,
                notify_message=None,
                revoke_after_download=False,
                cleanup=True,
                stage=None,
                origin=Origin("g.yaml", i + 1, 5),
            )
            for i in range(grants)
        ),
        memberships=(),
    )
    root = LiveRule(None, "identity", "admin", "/", "rw", None, role_id="r")
    live = LiveState(collections={COLLECTION: LiveCollection(COLLECTION, (root,))}, groups={})
    return compute_plan(intent, live, now=NOW)


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("compared_executing", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cpu_per_action(
    execute: Callable[..., Any], plan: Plan, *, concurrency: int, repeat: int, latency: float
) -> tuple[float, float]:
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        result = execute(plan, InstantPort(latency), concurrency=concurrency)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        assert result.ok
    count = len(plan.actions)
    return best_cpu / count * 1e6, best_wall / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grants", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--latency-ms", type=float, default=1.0)
    args = parser.parse_args()
    executors: list[tuple[str, Callable[..., Any]]] = [("this", executing.execute)]
    if args.compare:
        executors.append((args.compare.name, load_module(args.compare).execute))
    print(
        f"executor scheduling cost; concurrency {args.concurrency}; "
        f"{args.latency_ms:g} ms per call (sleeping); best of {args.repeat}"
    )
    for grants in args.grants:
        plan = cold_plan(grants)
        for name, execute in executors:
            cpu, wall = cpu_per_action(
                execute,
                plan,
                concurrency=args.concurrency,
                repeat=args.repeat,
                latency=args.latency_ms / 1000,
            )
            print(
                f"  {name:>18}: {len(plan.actions):>6} actions: {cpu:6.1f} us CPU per action, "
                f"{wall:6.1f} us wall per action",
                flush=True,
            )


if __name__ == "__main__":
    main()
