#!/usr/bin/env bash
# Every benchmark, one after the other (they must not share the machine), into bench/results/.
# The API-bound ones first; the CPU-bound ones (quiet pass, executor, planning, loading)
# last. The load average before each is recorded, since the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
mkdir -p results
load() { echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"; }
PREVIOUS=$(mktemp --suffix=.py)  # the executor before bounded submission, to compare
git -C .. show b24ba7c:reconciler/executing.py > "$PREVIOUS"
{ load; $PY bench_convergence.py; } | tee results/convergence.txt
{ load; $PY bench_steady.py --latency 50; } | tee results/steady.txt
{ load; $PY bench_daemon.py; } | tee results/daemon.txt
{ load; $PY bench_quiet.py; } | tee results/quiet.txt
{ load; $PY bench_executor.py 1000 10000 --compare "$PREVIOUS"; } | tee results/executor.txt
{ load; $PY bench_planning.py; } | tee results/planning.txt
{ load; $PY bench_loading.py; } | tee results/loading.txt
