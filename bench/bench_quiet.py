"""A quiet daemon pass (nothing changed, nothing to do) as the spec set grows.

Usage: python bench/bench_quiet.py [--grants 50 5000] [--identities uuids usernames]
                                   [--latency 0 50] [--passes 7]

The daemon's own pass (``reconciler.daemon.passes.Reconciler``, in this process, with
``--rate 20``) against a sandbox in another process, on a converged world of N grants
over ceil(N / 1000) collections. After the first pass, each measured pass is what the
resync timer runs: it must read one access_list per collection and nothing else (the
identities come from the daemon's cache) and must not parse a spec file again (no file
changed). Prints, per size: the median wall time and CPU time of a pass, the calls it
made by route, the spec files it parsed, and the ratio to the smallest size.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from common import (
    load_intent,
    machine,
    reconciler_clients,
    sandbox_process,
    seed,
    write_specs,
)

from reconciler.daemon.clock import SystemClock
from reconciler.daemon.passes import PassSettings, Reconciler
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.spec.caching import RACY_NS
from reconciler.targeting import TargetOptions, open_target


def route(path: str) -> str:
    parts = path.split("?", maxsplit=1)[0].strip("/").split("/")
    if parts[-1] == "access_list":
        return "access_list"
    if parts[:3] == ["v2", "api", "identities"]:
        return "identities"
    return "/".join(parts[:3])


def measure(grants: int, identities: str, latencies: list[int], passes: int) -> list[dict]:
    collections = math.ceil(grants / 1000)
    results = []
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        specs = write_specs(
            Path(tmp) / "specs", grants=grants, collections=collections, identities=identities
        )
        intent = load_intent(specs)
        seed(sandbox, intent)
        fast = reconciler_clients(rate=100_000)
        plan, _ = fetch_plan(fast, intent, now=datetime.now(UTC))
        assert apply_plan(fast, plan, concurrency=16).ok
        fast.close()
        os.environ["RECONCILER_STATE_DIR"] = str(Path(tmp) / "state")
        # Quiet passes come long after the last edit: let the files' times settle (a
        # change within 2 s of a load makes the next one read the file again).
        time.sleep(max(0.0, RACY_NS / 1e9 - (time.time() - specs.stat().st_mtime)) + 0.1)
        with open_target(TargetOptions(sandbox=True)) as target:
            reconciler = Reconciler(
                target, PassSettings(paths=(specs,)), clock=SystemClock(), stop=threading.Event()
            )
            first = reconciler.run_pass("first", frozenset({"start"}))
            assert first.result == "success", first
            for latency in latencies:
                sandbox.set_latency(latency)
                reconciler.run_pass("warm", frozenset({"resync"}))
                loads = reconciler.spec_files_parsed
                walls, cpus = [], []
                mark = sandbox.mark()
                for i in range(passes):
                    wall, cpu = time.perf_counter(), time.process_time()
                    report = reconciler.run_pass(f"quiet{i}", frozenset({"resync"}))
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
                    assert report.result == "success", report
                    assert not report.actions, report.actions
                calls = Counter(route(str(c["path"])) for c in sandbox.api_calls(mark))
                results.append(
                    {
                        "grants": grants,
                        "identities": identities,
                        "collections": collections,
                        "latency": latency,
                        "wall": statistics.median(walls),
                        "cpu": statistics.median(cpus),
                        "calls": {k: v / passes for k, v in calls.items()},
                        "loads": reconciler.spec_files_parsed - loads,
                    }
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, nargs="+", default=[50, 5000])
    parser.add_argument("--identities", nargs="+", default=["uuids", "usernames"])
    parser.add_argument("--latency", type=int, nargs="+", default=[0, 50])
    parser.add_argument("--passes", type=int, default=7)
    args = parser.parse_args()
    print(f"quiet daemon pass; {machine()}; --rate 20; median of {args.passes} passes")
    for identities in args.identities:
        rows = [r for g in args.grants for r in measure(g, identities, args.latency, args.passes)]
        for row in rows:
            base = next(
                r for r in rows if r["latency"] == row["latency"] and r["grants"] == args.grants[0]
            )
            print(
                f"  {row['grants']:>6} grants ({row['identities']}, {row['collections']} coll) "
                f"{row['latency']:>3} ms: wall {row['wall'] * 1000:7.1f} ms, "
                f"cpu {row['cpu'] * 1000:6.1f} ms, calls/pass {row['calls']}, "
                f"spec files parsed {row['loads']}, wall x{row['wall'] / base['wall']:.1f} "
                f"cpu x{row['cpu'] / base['cpu']:.1f} of {args.grants[0]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
