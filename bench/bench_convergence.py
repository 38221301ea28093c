"""Cold convergence: the reconciler against the API budget and against a tutorial-style
sequential script, on the sandbox with injected per-request latency and the sandbox
metering Globus's window (``transfer_rate_limit``: 429 beyond rate x 10 Transfer
requests in any 10 s).

Usage:
  python bench/bench_convergence.py [--latency 50 200] [--scenario 200x1 1000x1]
                                    [--rate 20] [--sandbox-limit 20] [--sequential-max 200]

For each scenario (grants x collections) and latency it prints the reconciler's wall
time, API calls (token requests included), calls per second, how far it is from the
budget bound (calls / rate), the 429 answers and the most Transfer requests the sandbox
counted in any 10 s window; then the sequential script's wall time on the same work
(one identity lookup per user, as the tutorial does) and the ratio. Above
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

from reconciler.globus.throttling import compute_peak
from reconciler.reconciling import apply_plan, fetch_plan


def transfer_times(calls: list[dict[str, object]]) -> list[float]:
    return [
        datetime.fromisoformat(str(c["time"])).timestamp()
        for c in calls
        if c["service"] == "transfer"
    ]


def measure_reconciler(
    grants: int, collections: int, latency: int, rate: float, limit: float
) -> dict[str, float]:
    """A new process's plan + apply: the clock starts before its first request (the
    token request included), as for a CI ``apply``."""
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        intent = load_intent(write_specs(Path(tmp), grants=grants, collections=collections))
        seed(sandbox, intent)
        sandbox.control.update_settings(transfer_rate_limit=limit)
        sandbox.set_latency(latency)
        clients = reconciler_clients(rate)
        mark = sandbox.mark()
        started = time.monotonic()
        plan, _ = fetch_plan(clients, intent, now=datetime.now(UTC))
        result = apply_plan(clients, plan, concurrency=16)
        wall = time.monotonic() - started
        clients.close()
        calls = sandbox.control.request_log(mark)["entries"]
        if not result.ok:
            raise SystemExit(f"apply failed: {result.with_status('failed')[:3]}")
        statuses = Counter(int(c["status"] or 0) for c in calls)
        return {
            "wall": wall,
            "calls": len(calls),
            "tokens": sum(1 for c in calls if "oauth2/token" in str(c["path"])),
            "throttled": statuses.get(429, 0),
            "peak": compute_peak(transfer_times(calls), 10.0),
            "actions": len(plan.actions),
        }


def measure_script(grants: int, collections: int, latency: int, limit: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        intent = load_intent(write_specs(Path(tmp), grants=grants, collections=collections))
        seed(sandbox, intent)
        sandbox.control.update_settings(transfer_rate_limit=limit)
        sandbox.set_latency(latency)
        mark = sandbox.mark()
        started = time.monotonic()
        run_sequential_script(intent)
        wall = time.monotonic() - started
        calls = sandbox.control.request_log(mark)["entries"]
        throttled = sum(1 for c in calls if c["status"] == 429)
        return {"wall": wall, "calls": len(calls), "throttled": throttled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--scenario", nargs="+", default=["200x1", "1000x1"])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--sandbox-limit", type=float, default=20.0)
    parser.add_argument("--sequential-max", type=int, default=200)
    args = parser.parse_args()
    print(
        f"cold convergence on the sandbox; {machine()}; --rate {args.rate:g}; "
        f"sandbox transfer_rate_limit {args.sandbox_limit:g} (429 beyond "
        f"{args.sandbox_limit * 10:g} Transfer requests in 10 s)"
    )
    header = (
        f"{'grants':>6} {'coll':>4} {'lat ms':>6} | {'wall s':>7} {'calls':>6} {'calls/s':>7} "
        f"{'bound s':>7} {'over':>6} {'tok':>3} {'429s':>4} {'peak/10s':>8} | {'script s':>9} "
        f"{'s calls':>7} {'s 429s':>6} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for latency in args.latency:
        per_call: float | None = None
        for scenario in args.scenario:
            grants, collections = (int(x) for x in scenario.split("x"))
            rec = measure_reconciler(grants, collections, latency, args.rate, args.sandbox_limit)
            bound = rec["calls"] / args.rate
            if grants <= args.sequential_max:
                script = measure_script(grants, collections, latency, args.sandbox_limit)
                per_call = script["wall"] / script["calls"]
                script_text = (
                    f"{script['wall']:9.1f} {script['calls']:7.0f} {script['throttled']:6.0f}"
                )
                script_wall = script["wall"]
            else:
                assert per_call is not None, "measure a smaller scenario first"
                # Per grant: a lookup, a mkdir, a rule; a parent per collection; a token.
                estimated_calls = 3 * grants + collections + 1
                script_wall = per_call * estimated_calls
                script_text = (
                    f"{'~' + format(script_wall, '.1f'):>9} {'~' + str(estimated_calls):>7} {'':>6}"
                )
            wall, calls = rec["wall"], rec["calls"]
            print(
                f"{grants:6d} {collections:4d} {latency:6d} | {wall:7.1f} {calls:6.0f} "
                f"{rec['calls'] / rec['wall']:7.1f} {bound:7.1f} {rec['wall'] / bound - 1:+6.1%} "
                f"{rec['tokens']:3.0f} {rec['throttled']:4.0f} {rec['peak']:8.0f} | {script_text} "
                f"{script_wall / rec['wall']:5.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
