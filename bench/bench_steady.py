"""Steady state: a pass with nothing to change, for 1000 and 10000 grants.

Usage: python bench/bench_steady.py [--latency 50 200] [--grants 1000 10000]
                                    [--sequential-max 1000]

Sets up a converged world quickly (no latency, no rate limit), then, with injected
latency, measures one reconciler pass (plan, nothing to apply): its API calls by route,
which must be the reads only (one access_list per collection, one get_group per group,
identity lookups 100 per call), and its wall time; and the tutorial-style script re-run
on the same world (per grant: look the user up, mkdir and add-rule, each answering
Exists). Collections
hold at most 1000 rules, so N grants use ceil(N / 1000) collections.
"""

from __future__ import annotations

import argparse
import math
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


def route(path: str) -> str:
    parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
    if parts[:2] == ["v0.10", "endpoint"] and parts[-1] == "access_list":
        return "access_list"
    if parts[:2] == ["v2", "groups"]:
        return "get_group"
    if parts[:3] == ["v2", "api", "identities"]:
        return "identities"
    return "/".join(parts[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--grants", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--sequential-max", type=int, default=1000)
    args = parser.parse_args()
    print(f"steady-state pass on the sandbox; {machine()}; budget 20 requests/s")
    per_call: dict[int, float] = {}
    for grants in args.grants:
        collections = math.ceil(grants / 1000)
        with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
            intent = load_intent(write_specs(Path(tmp), grants=grants, collections=collections))
            seed(sandbox, intent)
            fast = reconciler_clients(rate=10_000)
            plan, _ = fetch_plan(fast, intent, now=datetime.now(UTC))
            setup = apply_plan(fast, plan, concurrency=16)
            fast.close()
            assert setup.ok, setup.with_status("failed")[:3]
            for latency in args.latency:
                sandbox.set_latency(latency)
                clients = reconciler_clients(rate=20.0)
                clients.transfer.get_submission_id()  # tokens before the clock starts
                mark = sandbox.mark()
                started = time.monotonic()
                again, _ = fetch_plan(clients, intent, now=datetime.now(UTC))
                wall = time.monotonic() - started
                clients.close()
                calls = sandbox.api_calls(mark)
                routes = Counter(route(str(c["path"])) for c in calls)
                writes = sum(1 for c in calls if c["method"] != "GET")
                assert not again.actions, again.counts()
                expected = collections + math.ceil(grants / 100)
                print(
                    f"  reconciler {grants:>6} grants {collections:>2} coll {latency:>3} ms: "
                    f"{len(calls):>4} calls (expected minimum {expected}; {dict(routes)}; "
                    f"{writes} writes), {wall:6.2f} s",
                    flush=True,
                )
                if grants <= args.sequential_max:
                    mark = sandbox.mark()
                    started = time.monotonic()
                    run_sequential_script(intent)
                    script_wall = time.monotonic() - started
                    script_calls = len(sandbox.api_calls(mark))
                    per_call[latency] = script_wall / script_calls
                    marker = ""
                else:
                    # Per grant: a lookup, a mkdir, a rule; a parent per collection; a token.
                    script_calls = 3 * grants + collections + 1
                    script_wall = per_call[latency] * script_calls
                    marker = "~"
                print(
                    f"  script     {grants:>6} grants {collections:>2} coll {latency:>3} ms: "
                    f"{marker}{script_calls:>4} calls, {marker}{script_wall:6.1f} s "
                    f"({script_wall / wall:.0f}x the reconciler)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
