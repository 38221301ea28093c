"""``reconciler probe``: observe, on one collection and inside one scratch directory,
the Globus behaviours our docs could not settle, then clean up.

Everything happens in a fresh run directory below the scratch directory; the port
(``reconciler.globus.probing``) refuses any other path and counts calls. Time is read
and spent through a ``ProbeClock``: on real Globus it is the wall clock (corrected by
Globus's ``Date`` header) and waiting sleeps; on the sandbox it is the sandbox clock and
waiting moves it. The whole run is bounded by ``max_wait`` seconds of real time, then
cleaning up takes at most ``CLEANUP_WAIT`` more. Cleaning up (the probe's own rules by
id, the run directory with one delete task, a lowered sandbox rule limit) happens on
success, on errors and on Ctrl-C.

Modules: ``model`` (options, clocks, the report), ``session`` (the run's state and its
primitives, cleaning up), ``behaviours`` (one function per behaviour), ``running``
(the order and the interrupts). What the observations mean is ``reconciler.core.probe``.
"""

from reconciler.probing.model import (
    CLEANUP_WAIT,
    Cleanup,
    ProbeClock,
    ProbeOptions,
    ProbeRefused,
    ProbeReport,
    RuleLimitControl,
    WallClock,
)
from reconciler.probing.running import run_probe

__all__ = [
    "CLEANUP_WAIT",
    "Cleanup",
    "ProbeClock",
    "ProbeOptions",
    "ProbeRefused",
    "ProbeReport",
    "RuleLimitControl",
    "WallClock",
    "run_probe",
]
