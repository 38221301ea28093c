"""Spec loading and validation time: what every CLI run pays before planning, and what a
daemon pass pays with and without a ``SpecCache``.

For each size N, one spec file holding N grants (plus a collection) is written to a
temporary directory, then measured three ways:

- ``load``: ``load_spec_set`` in this process, the best of a few runs (the figure the
  12x and 5 s goals are about);
- ``validate``: ``reconciler validate`` as a child process, start-up included, with its
  CPU time and peak resident memory (``wait4``);
- ``cached``: a second ``load_spec_set`` through a ``SpecCache`` with no file changed
  (what an incremental daemon pass pays: a scan and one stat).

Usage: python bench/bench_loading.py [N ...]   (default: 10000 100000 300000)
A file above the default 10 MiB limit is validated with --max-spec-size raised to fit.
On a shared machine, run it twice and keep the lower figures: the noise is one-sided;
CPU times are disturbed less than wall times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import machine

from reconciler.spec import DEFAULT_MAX_FILE_SIZE, LoadOptions, SpecCache, load_spec_set

COLLECTION = """collections:
  c:
    id: e56c36e4-1063-11e6-a747-22000bf2d559
    root: /d/
"""
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def spec(n: int) -> bytes:
    head = (
        "distributions:\n  - name: d\n    collection: c\n    path: /d/{identity_id}/\n    grants:\n"
    )
    body = "".join(
        f"      - identity: user{i}@example.org  # a comment\n        expires: 2027-06-30\n"
        for i in range(n)
    )
    return (COLLECTION + head + body).encode()


def time_load(directory: Path, options: LoadOptions, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = load_spec_set([directory], now=NOW, options=options)
        best = min(best, time.perf_counter() - started)
        assert result.intent is not None, result.diagnostics[:3]
    return best


def time_validate(directory: Path, size_limit: int) -> tuple[float, float, float]:
    """Wall time, CPU time and peak memory (MB) of `reconciler validate` in a child."""
    started = time.perf_counter()
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "validate",
            "--max-spec-size",
            str(size_limit),
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    ) as child:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    took = time.perf_counter() - started
    assert child.returncode == 0, child.returncode
    return took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def time_cached(directory: Path, options: LoadOptions) -> float:
    # A clock a minute ahead: the file was written long enough before it was read.
    cache = SpecCache(clock=lambda: time.time_ns() + 60 * 10**9)
    load_spec_set([directory], now=NOW, cache=cache, options=options)
    started = time.perf_counter()
    load_spec_set([directory], now=NOW, cache=cache, options=options)
    took = time.perf_counter() - started
    assert cache.stats.files_read == 1, cache.stats
    return took


def main(sizes: list[int]) -> None:
    print(f"spec loading, N grants in one file; {machine()}")
    base: float | None = None
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            data = spec(n)
            (directory / "grants.yaml").write_bytes(data)
            limit = max(DEFAULT_MAX_FILE_SIZE, len(data))
            options = LoadOptions(max_file_size=limit)
            load = time_load(directory, options, runs=3 if n <= 100_000 else 1)
            validate, cpu, peak = time_validate(directory, limit)
            cached = time_cached(directory, options)
        base = base or load / n
        ratio = load / n / base
        print(
            f"  {n:>7} grants ({len(data) / 2**20:5.1f} MiB): load {load:6.2f} s "
            f"({load / n * 1e6:4.0f} us/grant, x{ratio:.2f} per grant vs the first size); "
            f"validate {validate:6.2f} s (CPU {cpu:5.2f} s), peak {peak:5.0f} MB; "
            f"cached, no change "
            f"{cached * 1e3:6.2f} ms"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 300_000])
