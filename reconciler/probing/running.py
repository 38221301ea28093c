"""Run the probe: start, each behaviour in turn while time is left, watch the expiring
rule last (so the waiting overlaps everything else), then always clean up."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from reconciler.core.probe import Observation, complete
from reconciler.errors import GlobusError
from reconciler.globus.probing import ProbeBudgetExceeded, ProbePort
from reconciler.probing import behaviours
from reconciler.probing.model import (
    ProbeClock,
    ProbeOptions,
    ProbeRefused,
    ProbeReport,
    RuleLimitControl,
)
from reconciler.probing.session import ProbeSession

STEPS: tuple[tuple[str, Callable[[ProbeSession], Observation]], ...] = (
    ("rule_path_without_trailing_slash", behaviours.rule_without_slash),
    ("rule_on_missing_directory", behaviours.rule_on_missing_directory),
    ("delete_missing_rule", behaviours.delete_missing_rule),
    ("mkdir_existing", behaviours.mkdir_existing),
    ("mkdir_missing_parent", behaviours.mkdir_missing_parent),
    ("source_path", behaviours.source_path),
    ("rule_limit", behaviours.rule_limit),
)
"""The behaviours between creating the expiring rule and watching it, in order."""


def run_probe(
    port: ProbePort,
    clock: ProbeClock,
    options: ProbeOptions,
    *,
    limits: RuleLimitControl | None = None,
    say: Callable[[str], None] = lambda _line: None,
    monotonic: Callable[[], float] = time.monotonic,
) -> ProbeReport:
    """Probe every behaviour, clean up, and report. ``ProbeRefused`` when the probe
    cannot start (after cleaning up whatever it had made)."""
    session = ProbeSession(port, clock, options, limits=limits, say=say, monotonic=monotonic)
    started = clock.now()
    stopped: str | None = None
    interrupted = False
    try:
        _run(session)
    except KeyboardInterrupt:
        interrupted, stopped = True, "interrupted"
    except ProbeBudgetExceeded as err:
        stopped = str(err)
    except GlobusError as err:
        stopped = f"an unexpected answer stopped the probe: {err}"
    finally:
        with _deferred_interrupts():
            if session.run_dir or session.rules:
                say("cleaning up")
            cleanup = session.clean_up()
    if session.refused is not None:
        raise ProbeRefused(session.refused)
    return ProbeReport(
        collection_id=port.collection_id,
        scratch=port.scratch,
        run_directory=session.run_dir,
        principal=options.principal,
        simulated_clock=clock.simulated,
        started=started,
        finished=clock.now(),
        calls=port.calls,
        observations=complete(
            session.observations,
            reason=f"not reached: {stopped or 'out of time (--max-wait)'}",
        ),
        cleanup=cleanup,
        stopped=stopped,
        interrupted=interrupted,
    )


def _run(s: ProbeSession) -> None:
    if not s.start():
        return
    expiring = behaviours.start_expiry(s)
    s.say("probing duplicate_rule")
    s.record("duplicate_rule", lambda: behaviours.duplicate_rule(s, expiring))
    for name, step in STEPS:
        if s.remaining() <= 0:
            return
        s.say(f"probing {name}")
        s.record(name, partial(step, s))
    if expiring is not None:
        s.say("watching the expiring rule")
        s.record("rule_expiry", lambda: behaviours.finish_expiry(s, expiring))


DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C, and SIGTERM (which ``reconciler probe`` turns into a Ctrl-C)."""


@contextmanager
def _deferred_interrupts() -> Iterator[None]:
    """Cleaning up is not interrupted by a second Ctrl-C or a SIGTERM (it is bounded
    anyway); a signal that arrives meanwhile is dropped: the probe is stopping."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
