"""The daemon's reaction times on the sandbox: spec edit to converged, and how late
expiries are revoked.

Usage: python bench/bench_daemon.py [--latency 50] [--edits 10] [--expiries 100]

Runs ``reconciler run --sandbox`` as a child process against a sandbox in another
process (injected latency on every API request). Edit latency: a grant is appended to a
spec file and the time until its rule exists in the sandbox is measured. Expiry
lateness: grants expiring at staggered instants; lateness is the time from each expiry
to the DELETE of its rule in the sandbox's request log.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import Sandbox, collection_id, machine, sandbox_process

HEADER = f"""collections:
  c0:
    id: {collection_id(0)}
    root: /disthome/
    policy: {{max_permissions: r, cleanup: false}}
distributions:
"""


def grant_block(name: str, users: list[tuple[str, str]]) -> str:
    lines = [f"  - name: {name}", "    collection: c0", "    path: /disthome/{identity_id}/",
             "    grants:"]  # fmt: skip
    for user, expires in users:
        lines += [f"      - identity: {user}", f"        expires: {expires}"]
    return "\n".join(lines) + "\n"


def rule_paths(control: object) -> int:
    world = control.dump()  # type: ignore[attr-defined]
    return sum(len(c["rules"]) for c in world["collections"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure_edits(sandbox: Sandbox, spec: Path, users: list[tuple[str, str]], edits: int) -> None:
    """Append a grant, time until its rule exists; ``users`` grows with each edit."""
    times: list[float] = []
    for i in range(edits):
        users.append((f"edit{i}@example.org", "2027-06-30"))
        started = time.monotonic()
        spec.write_text(HEADER + grant_block("base", users))
        while rule_paths(sandbox.control) < len(users):
            time.sleep(0.02)
        times.append(time.monotonic() - started)
    print(
        f"  spec edit -> converged over {len(times)} edits: "
        f"p50 {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )


def measure_expiries(
    sandbox: Sandbox, spec: Path, users: list[tuple[str, str]], expiries: int
) -> None:
    """Grants expiring in pairs, one instant a second; lateness is the time from each
    expiry to the DELETE of its rule in the sandbox's request log."""
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    expiring = {f"exp{i}@example.org": first + timedelta(seconds=i // 2) for i in range(expiries)}
    block = grant_block("expiring", [(u, e.isoformat()) for u, e in expiring.items()])
    spec.write_text(HEADER + grant_block("base", users) + block)
    while rule_paths(sandbox.control) < len(users) + len(expiring):
        if datetime.now(UTC) >= first:
            raise SystemExit("the expiring grants were not all created in time")
        time.sleep(0.1)
    world = sandbox.control.dump()
    usernames = {i["id"]: i["username"] for i in world["identities"]}
    expiry_of_rule = {
        r["id"]: expiring[usernames[r["principal"]]]
        for c in world["collections"]
        for r in c["rules"]
        if usernames.get(r["principal"]) in expiring
    }
    mark = sandbox.mark()
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
    print(
        f"  expiry lateness over {len(lateness)} expiries: "
        f"p50 {percentile(lateness, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(lateness, 0.99) * 1000:.0f} ms, "
        f"max {max(lateness) * 1000:.0f} ms, min {min(lateness) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=50)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--expiries", type=int, default=100)
    args = parser.parse_args()
    print(f"daemon reaction times; {machine()}; {args.latency} ms per request")
    with tempfile.TemporaryDirectory() as tmp, sandbox_process() as sandbox:
        specs = Path(tmp) / "specs"
        specs.mkdir()
        spec = specs / "bench.yaml"
        users = [("base@example.org", "2027-06-30")]
        spec.write_text(HEADER + grant_block("base", users))
        sandbox.set_latency(args.latency)
        env = {**os.environ, "RECONCILER_STATE_DIR": str(Path(tmp) / "state")}
        daemon = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "run", "--sandbox", "--metrics-address", "off",
             "--log-format", "json", str(specs)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while rule_paths(sandbox.control) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            measure_edits(sandbox, spec, users, args.edits)
            measure_expiries(sandbox, spec, users, args.expiries)
        finally:
            daemon.terminate()
            daemon.wait(30)


if __name__ == "__main__":
    main()
