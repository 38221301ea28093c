"""The daemon's reaction times as the spec set grows: spec edit to converged, and how late
expiries are revoked, at 50, 1,000 and 10,000 grants, named by username or by UUID.

Usage: python bench/bench_daemon.py [--latency 50] [--grants 50 1000 10000]
                                    [--identities usernames uuids] [--edits 10]
                                    [--expiries 40]

For each size and identity kind: N grants in ``base.yaml`` over ceil(N / 900) collections
(at most 900 rules each, room for the measured ones), converged quickly (no latency, no
rate limit) before ``reconciler run --sandbox`` starts as a child process against a
sandbox in another process, with injected latency on every API request. Then:

- edit latency: a grant is added to ``extra.yaml`` (on the first, full collection) and
  the time from the write to the creation of its rule in the sandbox's request log is
  measured (the watcher's debounce included);
- expiry lateness: grants on that collection expiring two per second; lateness is the
  time from each expiry to the DELETE of its rule in the sandbox's request log. The
  daemon's own log says how long each expiry pass took and what it read.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import (
    Sandbox,
    collection_id,
    load_intent,
    machine,
    reconciler_clients,
    sandbox_process,
    seed,
)

from reconciler.reconciling import apply_plan, fetch_plan

PER_COLLECTION = 900
BASE_EXPIRES = "2027-06-30"


def principal(kind: str, name: str) -> str:
    if kind == "uuids":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{name}"))
    return f"{name}@example.org"


def collections_yaml(count: int) -> str:
    lines = ["collections:"]
    for c in range(count):
        lines += [
            f"  c{c}:",
            f"    id: {collection_id(c)}",
            "    root: /disthome/",
            "    policy: {max_permissions: r, cleanup: false}",
        ]
    return "\n".join(lines) + "\n"


def distribution(name: str, collection: int, grants: list[tuple[str, str]]) -> list[str]:
    lines = [
        f"  - name: {name}",
        f"    collection: c{collection}",
        f"    path: /disthome/{name}/{{identity_id}}/",
    ]
    if not grants:
        return [*lines, "    grants: []"]
    lines.append("    grants:")
    for who, expires in grants:
        lines += [f"      - identity: {who}", f"        expires: {expires}"]
    return lines


def write_base(specs: Path, *, grants: int, kind: str) -> int:
    count = max(1, math.ceil(grants / PER_COLLECTION))
    lines = [collections_yaml(count).rstrip(), "distributions:"]
    per = math.ceil(grants / count)
    for c in range(count):
        users = [(principal(kind, f"u{c}-{i}"), BASE_EXPIRES) for i in range(per)]
        lines += distribution(f"base{c}", c, users[: max(0, grants - c * per)])
    (specs / "base.yaml").write_text("\n".join(lines) + "\n")
    return count


def write_extra(specs: Path, grants: list[tuple[str, str]]) -> None:
    lines = ["distributions:", *distribution("extra", 0, grants)]
    (specs / "extra.yaml").write_text("\n".join(lines) + "\n")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def created_at(sandbox: Sandbox, mark: int) -> list[float]:
    """Times (Unix seconds) of the rules created since ``mark``."""
    return [
        datetime.fromisoformat(str(e["time"])).timestamp()
        for e in sandbox.control.request_log(mark)["entries"]
        if e["method"] == "POST" and str(e["path"]).endswith("/access") and e["status"] == 201
    ]


@contextmanager
def daemon_process(specs: Path, state: Path, log: Path, url: str) -> Iterator[None]:
    env = {**os.environ, "RECONCILER_STATE_DIR": str(state), "RECONCILER_SANDBOX_URL": url}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "run", "--sandbox", "--metrics-address", "off",
             "--log-format", "json", str(specs)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield
        finally:
            proc.terminate()
            proc.wait(60)


def events(log: Path, name: str) -> list[dict[str, object]]:
    found = []
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == name:
            found.append(event)
    return found


def wait_until(predicate: object, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def measure(grants: int, kind: str, args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        count = write_base(specs, grants=grants, kind=kind)
        write_extra(specs, [])
        # Converge quickly first: the measurement is of a daemon with a large world.
        clients = reconciler_clients(rate=100_000)
        intent = load_intent(specs)
        seed(sandbox, intent)
        plan, _ = fetch_plan(clients, intent, now=datetime.now(UTC))
        if not apply_plan(clients, plan, concurrency=16).ok:
            raise SystemExit("setup failed")
        clients.close()
        sandbox.set_latency(args.latency)
        log = Path(tmp) / "daemon.log"
        with daemon_process(specs, Path(tmp) / "state", log, sandbox.url):
            wait_until(lambda: events(log, "pass_finished"), 300, "the first pass")
            first = events(log, "pass_finished")[0]
            edits: list[float] = []
            extra: list[tuple[str, str]] = []
            for i in range(args.edits):
                mark = sandbox.mark()
                extra.append((principal(kind, f"edit{i}"), BASE_EXPIRES))
                time.sleep(0.3)  # apart from the previous pass
                written = time.time()
                write_extra(specs, extra)
                wait_until(lambda mark=mark: created_at(sandbox, mark), 60, "an edit's rule")  # type: ignore[misc]
                edits.append(created_at(sandbox, mark)[0] - written)
            lateness, passes = measure_expiries(
                sandbox, specs, log, extra=extra, kind=kind, expiries=args.expiries
            )
    return (
        f"{grants:>6} {kind:>9} {count:>4} | first pass {float(first['duration']):6.2f} s | "
        f"edit p50 {statistics.median(edits):5.2f} s p99 {percentile(edits, 0.99):5.2f} s | "
        f"expiry p50 {percentile(lateness, 0.5) * 1000:5.0f} ms "
        f"p99 {percentile(lateness, 0.99) * 1000:5.0f} ms max {max(lateness) * 1000:5.0f} ms | "
        f"expiry pass p50 {statistics.median(passes) * 1000:4.0f} ms ({len(passes)} passes)"
    )


def measure_expiries(
    sandbox: Sandbox,
    specs: Path,
    log: Path,
    *,
    extra: list[tuple[str, str]],
    kind: str,
    expiries: int,
) -> tuple[list[float], list[float]]:
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=25)
    expiring = {
        principal(kind, f"exp{i}"): first + timedelta(seconds=i // 2) for i in range(expiries)
    }
    mark = sandbox.mark()
    write_extra(specs, [*extra, *((who, at.isoformat()) for who, at in expiring.items())])
    wait_until(lambda: len(created_at(sandbox, mark)) >= expiries, 20, "the expiring rules")
    if datetime.now(UTC) >= first:
        raise SystemExit("the expiring grants were not all created in time")
    world = sandbox.control.dump()
    usernames = {i["id"]: i["username"] for i in world["identities"]}
    expiry_of_rule = {}
    for collection in world["collections"]:
        for rule in collection["rules"]:
            ref = rule["principal"] if kind == "uuids" else usernames.get(rule["principal"])
            if ref in expiring:
                expiry_of_rule[rule["id"]] = expiring[ref]
    mark = sandbox.mark()
    passes_before = len(events(log, "expiry_pass"))
    while datetime.now(UTC) < max(expiring.values()) + timedelta(seconds=5):
        time.sleep(0.5)
    lateness = [
        (datetime.fromisoformat(str(c["time"])) - expiry_of_rule[rule_id]).total_seconds()
        for c in sandbox.api_calls(mark)
        if c["method"] == "DELETE"
        and (rule_id := str(c["path"]).rsplit("/", 1)[-1]) in expiry_of_rule
    ]
    if len(lateness) != len(expiring):
        raise SystemExit(f"{len(lateness)} rules revoked of {len(expiring)} expiring")
    expiry_pass_ids = {e["pass_id"] for e in events(log, "expiry_pass")[passes_before:]}
    durations = [
        float(e["duration"])  # type: ignore[arg-type]
        for e in events(log, "pass_finished")
        if e.get("pass_id") in expiry_pass_ids
    ]
    return lateness, durations or [float("nan")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=50)
    parser.add_argument("--grants", type=int, nargs="+", default=[50, 1000, 10000])
    parser.add_argument("--identities", nargs="+", default=["usernames", "uuids"])
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--expiries", type=int, default=40)
    args = parser.parse_args()
    print(f"daemon reaction times; {machine()}; {args.latency} ms per request; --rate 20")
    for kind in args.identities:
        for grants in args.grants:
            print(measure(grants, kind, args), flush=True)


if __name__ == "__main__":
    main()
