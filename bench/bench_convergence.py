"""Cold convergence: the reconciler against the API budget and against a tutorial-style
sequential script, on the sandbox with injected per-request latency.

Usage:
  python bench/bench_convergence.py [--latency 50 200] [--scenario 100x1 1000x1 5000x5]
                                    [--rate 20] [--sequential-max 1000]

For each scenario (grants x collections) and latency it prints the reconciler's wall
time, API calls, calls per second and how far it is from the budget bound (calls / rate),
then the sequential script's wall time on the same work and the ratio. Above
``--sequential-max`` grants the script's time is extrapolated from its measured time per
call (marked "~").
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from common import (
    load_intent,
    machine,
    reconciler_clients,
    run_sequential_script,
    sandbox_process,
    seed,
    write_specs,
)

from reconciler.reconciling import apply_plan, fetch_plan


def measure_reconciler(
    grants: int, collections: int, latency: int, rate: float
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        intent = load_intent(write_specs(Path(tmp), grants=grants, collections=collections))
        seed(sandbox, intent)
        sandbox.set_latency(latency)
        clients = reconciler_clients(rate)
        clients.transfer.get_submission_id()  # fetch tokens before the clock starts
        mark = sandbox.mark()
        started = time.monotonic()
        plan, _ = fetch_plan(clients, intent, now=datetime.now(UTC))
        result = apply_plan(clients, plan, concurrency=16)
        wall = time.monotonic() - started
        clients.close()
        calls = sandbox.api_calls(mark)
        if not result.ok:
            raise SystemExit(f"apply failed: {result.with_status('failed')[:3]}")
        statuses = Counter(int(c["status"] or 0) for c in calls)
        return {
            "wall": wall,
            "calls": len(calls),
            "throttled": statuses.get(429, 0),
            "actions": len(plan.actions),
        }


def measure_script(grants: int, collections: int, latency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        intent = load_intent(write_specs(Path(tmp), grants=grants, collections=collections))
        seed(sandbox, intent)
        sandbox.set_latency(latency)
        mark = sandbox.mark()
        started = time.monotonic()
        run_sequential_script(intent)
        wall = time.monotonic() - started
        return {"wall": wall, "calls": len(sandbox.api_calls(mark))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--scenario", nargs="+", default=["100x1", "1000x1", "5000x5"])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--sequential-max", type=int, default=1000)
    args = parser.parse_args()
    print(f"cold convergence on the sandbox; {machine()}; budget {args.rate:g} requests/s")
    header = (
        f"{'grants':>6} {'coll':>4} {'lat ms':>6} | {'wall s':>7} {'calls':>6} {'calls/s':>7} "
        f"{'bound s':>7} {'over':>6} {'429s':>4} | {'script s':>9} {'s calls':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for latency in args.latency:
        per_call: float | None = None
        for scenario in args.scenario:
            grants, collections = (int(x) for x in scenario.split("x"))
            rec = measure_reconciler(grants, collections, latency, args.rate)
            bound = rec["calls"] / args.rate
            if grants <= args.sequential_max:
                script = measure_script(grants, collections, latency)
                per_call = script["wall"] / script["calls"]
                script_text = f"{script['wall']:9.1f} {script['calls']:7.0f}"
                script_wall = script["wall"]
            else:
                assert per_call is not None, "measure a smaller scenario first"
                estimated_calls = 2 * grants + collections + grants // 100 + 1
                script_wall = per_call * estimated_calls
                script_text = (
                    f"{'~' + format(script_wall, '.1f'):>9} {'~' + str(estimated_calls):>7}"
                )
            wall, calls = rec["wall"], rec["calls"]
            print(
                f"{grants:6d} {collections:4d} {latency:6d} | {wall:7.1f} {calls:6.0f} "
                f"{rec['calls'] / rec['wall']:7.1f} {bound:7.1f} {rec['wall'] / bound - 1:+6.1%} "
                f"{rec['throttled']:4.0f} | {script_text} {script_wall / rec['wall']:5.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
