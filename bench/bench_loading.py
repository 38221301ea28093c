"""Spec loading and validation time: what every daemon pass and every CLI run pays
before planning. Usage: python bench/bench_loading.py [N ...] (default 1000 10000)."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from common import machine

from reconciler.spec import compute_spec_set

COLLECTION = b"""collections:
  c:
    id: e56c36e4-1063-11e6-a747-22000bf2d559
    root: /d/
"""


def grants(n: int) -> bytes:
    head = (
        "distributions:\n  - name: d\n    collection: c\n    path: /d/{identity_id}/\n    grants:\n"
    )
    body = "".join(
        f"      - identity: user{i}@example.org  # a comment\n        expires: 2027-06-30\n"
        for i in range(n)
    )
    return (head + body).encode()


def main(sizes: list[int]) -> None:
    print(f"spec loading; {machine()}")
    for n in sizes:
        sources = [("c.yaml", COLLECTION), ("g.yaml", grants(n))]
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            intent, diagnostics = compute_spec_set(sources, now=datetime.now(UTC))
            timings.append(time.perf_counter() - started)
            assert intent is not None, diagnostics[:3]
        print(f"  {n:>6} grants: {min(timings):6.2f} s ({min(timings) / n * 1e6:.0f} us per grant)")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
