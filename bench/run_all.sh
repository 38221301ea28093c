#!/usr/bin/env bash
# Every benchmark, one after the other (they must not share the machine), into bench/results/.
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
mkdir -p results
$PY bench_loading.py | tee results/loading.txt
$PY bench_planning.py | tee results/planning.txt
$PY bench_steady.py | tee results/steady.txt
$PY bench_daemon.py | tee results/daemon.txt
$PY bench_convergence.py | tee results/convergence.txt
