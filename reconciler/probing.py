"""Run ``reconciler probe``: observe, on one collection and inside one scratch directory,
the Globus behaviours our docs could not settle, then clean up.

Everything happens in a fresh run directory below the scratch directory; the port
(``reconciler.globus.probing``) refuses any other path and counts calls. Time is read
and spent through a ``ProbeClock``: on real Globus it is the wall clock (corrected by
Globus's ``Date`` header) and waiting sleeps; on the sandbox it is the sandbox clock and
waiting moves it. The whole run is bounded by ``max_wait`` seconds of real time, then
cleaning up takes at most ``CLEANUP_WAIT`` more. Cleaning up (the probe's own rules by
id, the run directory with one delete task, a lowered sandbox rule limit) happens on
success, on errors and on Ctrl-C.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from reconciler.core.probe import (
    Observation,
    classify_source_path,
    complete,
    error_outcome,
    not_probed,
    observed,
)
from reconciler.core.readiness import RULE_ROLES
from reconciler.errors import GlobusError, ReconcilerError
from reconciler.globus.probing import ProbeBudgetExceeded, ProbePort

CLEANUP_WAIT = 60.0
"""Real seconds cleaning up may wait for its delete task."""
MAX_SAMPLE_BYTES = 64 * 1024 * 1024
TASK_POLL = 3.0
RULE_LIMIT_MARGIN = 5
GLOBUS_RULE_LIMIT = 1000


class ProbeRefused(ReconcilerError):
    """The probe cannot run here (no role, no scratch directory...): nothing was changed."""


class ProbeClock(Protocol):
    simulated: bool

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...

    def calibrate(self, server_time: datetime | None) -> None: ...


class RuleLimitControl(Protocol):
    """The sandbox's rule-limit setting (real Globus has none to lower)."""

    def rule_limit(self) -> int: ...

    def set_rule_limit(self, limit: int) -> None: ...


class WallClock:
    """Real time, shifted to Globus's clock once its ``Date`` header is seen."""

    simulated = False

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def calibrate(self, server_time: datetime | None) -> None:
        if server_time is not None:
            self.offset = server_time - datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    principal: str
    """The identity the probe's rules name (by default the caller itself)."""
    max_wait: float = 300.0
    probe_rule_limit: bool = False
    poll_seconds: float = 10.0

    @property
    def expiry_lead(self) -> float:
        """How far ahead the expiring rule's ``expiration_date`` is set."""
        return min(120.0, max(15.0, self.max_wait * 0.4))

    @property
    def settle(self) -> float:
        """How long after the expiry the rule is watched before calling it kept."""
        return min(90.0, max(15.0, self.max_wait * 0.3))


@dataclass
class Cleanup:
    rules_deleted: int = 0
    rules_left: list[str] = field(default_factory=list)
    directory: str | None = None
    delete_task: str | None = None
    delete_status: str | None = None
    rule_limit_restored: bool | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return (
            not self.rules_left
            and not self.errors
            and self.rule_limit_restored is not False
            and (self.directory is None or self.delete_status in ("SUCCEEDED", "ACTIVE"))
        )


@dataclass(frozen=True, slots=True)
class ProbeReport:
    collection_id: str
    scratch: str
    run_directory: str | None
    principal: str
    simulated_clock: bool
    started: datetime
    finished: datetime
    calls: int
    observations: tuple[Observation, ...]
    cleanup: Cleanup
    stopped: str | None
    """Why the probe stopped early (None when it ran to the end)."""
    interrupted: bool


@dataclass(frozen=True, slots=True)
class _Expiring:
    rule_id: str
    path: str
    expires: datetime


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
    probe = _Probe(port, clock, options, limits=limits, say=say, monotonic=monotonic)
    started = clock.now()
    stopped: str | None = None
    interrupted = False
    try:
        probe.run()
    except KeyboardInterrupt:
        interrupted, stopped = True, "interrupted"
    except ProbeBudgetExceeded as err:
        stopped = str(err)
    except GlobusError as err:
        stopped = f"an unexpected answer stopped the probe: {err}"
    finally:
        with _deferred_interrupts():
            if probe.run_dir or probe.rules:
                say("cleaning up")
            cleanup = probe.clean_up()
    if probe.refused is not None:
        raise ProbeRefused(probe.refused)
    return ProbeReport(
        collection_id=port.collection_id,
        scratch=port.scratch,
        run_directory=probe.run_dir,
        principal=options.principal,
        simulated_clock=clock.simulated,
        started=started,
        finished=clock.now(),
        calls=port.calls,
        observations=complete(
            probe.observations, reason=f"not reached: {stopped or 'out of time (--max-wait)'}"
        ),
        cleanup=cleanup,
        stopped=stopped,
        interrupted=interrupted,
    )


@contextmanager
def _deferred_interrupts() -> Iterator[None]:
    """Cleaning up is not interrupted by a second Ctrl-C (it is bounded anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Probe:
    def __init__(
        self,
        port: ProbePort,
        clock: ProbeClock,
        options: ProbeOptions,
        *,
        limits: RuleLimitControl | None,
        say: Callable[[str], None],
        monotonic: Callable[[], float],
    ) -> None:
        self.port = port
        self.clock = clock
        self.options = options
        self.limits = limits
        self.say = say
        self.monotonic = monotonic
        self.deadline = monotonic() + options.max_wait
        self.observations: dict[str, Observation] = {}
        self.rules: list[str] = []
        self.run_dir: str | None = None
        self.saved_limit: int | None = None
        self.limit_restored: bool | None = None
        """None: never lowered; True: lowered and restored."""
        self.refused: str | None = None
        self.scratch_entries: list[dict[str, Any]] = []

    # --- the run --------------------------------------------------------------------

    def run(self) -> None:
        if not self._start():
            return
        expiring = self._start_expiry()
        for name, step in (
            ("duplicate_rule", lambda: self._duplicate_rule(expiring)),
            ("rule_path_without_trailing_slash", self._rule_without_slash),
            ("rule_on_missing_directory", self._rule_on_missing_directory),
            ("delete_missing_rule", self._delete_missing_rule),
            ("mkdir_existing", self._mkdir_existing),
            ("mkdir_missing_parent", self._mkdir_missing_parent),
            ("source_path", self._source_path),
            ("rule_limit", self._rule_limit),
        ):
            if self._remaining() <= 0:
                return
            self.say(f"probing {name}")
            self._record(name, step)
        if expiring is not None:
            self.say("watching the expiring rule")
            self._record("rule_expiry", lambda: self._finish_expiry(expiring))

    def _record(self, name: str, step: Callable[[], Observation]) -> None:
        try:
            self.observations[name] = step()
        except GlobusError as err:
            self.observations[name] = Observation(
                name,
                "error",
                f"unexpected answer: {err}",
                error_outcome(err.http_status, err.code, err.message),
            )

    def _remaining(self) -> float:
        return self.deadline - self.monotonic()

    def _start(self) -> bool:
        doc, server_time = self.port.endpoint()
        self.clock.calibrate(server_time)
        roles = doc.get("my_effective_roles")
        if isinstance(roles, list) and not RULE_ROLES.intersection(roles):
            self.refused = (
                f"the caller holds {', '.join(roles) or 'no role'} on {self.port.collection_id}; "
                "the probe needs access_manager (or administrator) to create rules"
            )
            return False
        try:
            self.scratch_entries = self.port.ls(self.port.scratch)
        except GlobusError as err:
            self.refused = (
                f"cannot list the scratch directory {self.port.scratch} ({err}); "
                "create it first, outside every collection root the reconciler manages"
            )
            return False
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%SZ")
        self.run_dir = f"{self.port.scratch}reconciler-probe-{stamp}-{secrets.token_hex(3)}/"
        self.say(f"working in {self.run_dir}")
        self.port.mkdir(self.run_dir)
        return True

    def _create(self, path: str, expires: datetime | None = None) -> str:
        rule_id = self.port.create_rule(
            principal=self.options.principal, path=path, expires=expires
        )
        self.rules.append(rule_id)
        return rule_id

    def _delete(self, rule_id: str) -> None:
        self.port.delete_rule(rule_id)
        self.rules.remove(rule_id)

    # --- behaviours -----------------------------------------------------------------

    def _start_expiry(self) -> _Expiring | None:
        assert self.run_dir is not None
        path = f"{self.run_dir}expiry/"
        try:
            self.port.mkdir(path)
            expires = (self.clock.now() + timedelta(seconds=self.options.expiry_lead)).replace(
                microsecond=0
            )
            self.say(f"creating a rule that expires at {expires.isoformat()}")
            return _Expiring(self._create(path, expires), path, expires)
        except GlobusError as err:
            self.observations["rule_expiry"] = Observation(
                "rule_expiry",
                "error",
                f"could not create the expiring rule: {err}",
                error_outcome(err.http_status, err.code, err.message),
            )
            return None

    def _duplicate_rule(self, expiring: _Expiring | None) -> Observation:
        if expiring is None:
            return not_probed("duplicate_rule", "the first rule could not be created")
        return self._refusal_of(
            "duplicate_rule",
            lambda: self._create(expiring.path, expiring.expires),
            accepted="a second rule was created for the same principal and path",
        )

    def _rule_without_slash(self) -> Observation:
        assert self.run_dir is not None
        self.port.mkdir(f"{self.run_dir}noslash/")
        path = f"{self.run_dir}noslash"
        try:
            rule_id = self._create(path)
        except GlobusError as err:
            return _refused("rule_path_without_trailing_slash", err)
        stored = self.port.get_rule_path(rule_id)
        return observed(
            "rule_path_without_trailing_slash",
            f"accepted; Globus stored the path as {stored!r}",
            outcome="accepted",
            sent_path=path,
            stored_path=stored,
        )

    def _rule_on_missing_directory(self) -> Observation:
        assert self.run_dir is not None
        path = f"{self.run_dir}absent/"
        try:
            self._create(path)
        except GlobusError as err:
            return _refused("rule_on_missing_directory", err)
        return observed(
            "rule_on_missing_directory",
            "accepted a rule on a directory that does not exist",
            outcome="accepted",
        )

    def _delete_missing_rule(self) -> Observation:
        assert self.run_dir is not None
        path = f"{self.run_dir}deleted/"
        self.port.mkdir(path)
        rule_id = self._create(path)
        self._delete(rule_id)
        try:
            self.port.delete_rule(rule_id)
        except GlobusError as err:
            return _refused("delete_missing_rule", err)
        return observed(
            "delete_missing_rule",
            "deleting a deleted rule succeeded again",
            outcome="accepted",
        )

    def _mkdir_existing(self) -> Observation:
        assert self.run_dir is not None
        return self._refusal_of(
            "mkdir_existing",
            lambda: self.port.mkdir(f"{self.run_dir}expiry/"),
            accepted="mkdir of an existing directory succeeded",
        )

    def _mkdir_missing_parent(self) -> Observation:
        assert self.run_dir is not None
        return self._refusal_of(
            "mkdir_missing_parent",
            lambda: self.port.mkdir(f"{self.run_dir}missing/child/"),
            accepted="mkdir created the missing parent too (recursive)",
        )

    def _refusal_of(self, name: str, call: Callable[[], object], *, accepted: str) -> Observation:
        try:
            call()
        except GlobusError as err:
            return _refused(name, err)
        return observed(name, accepted, outcome="accepted")

    def _source_path(self) -> Observation:
        assert self.run_dir is not None
        sample = next(
            (
                e
                for e in self.scratch_entries
                if e.get("type") == "file" and int(e.get("size") or 0) <= MAX_SAMPLE_BYTES
            ),
            None,
        )
        if sample is None:
            return not_probed(
                "source_path",
                "no file of at most 64 MiB directly in the scratch directory: put a small "
                "file there to probe this",
            )
        source = f"{self.port.scratch}{sample['name']}"
        task_id = self.port.submit_copy(source, f"{self.run_dir}copy/{sample['name']}")
        status = self._wait_task(task_id, service_seconds=120.0, real_deadline=self.deadline)
        if status != "SUCCEEDED":
            return Observation(
                "source_path",
                "unsettled",
                f"the copy (task {task_id}) ended {status}, so there is no history to read",
                {"task_id": task_id, "task_status": status},
            )
        try:
            paths = self.port.manager_source_paths(task_id)
        except GlobusError as err:
            if err.http_status in (401, 403):
                return not_probed(
                    "source_path",
                    f"activity monitoring was refused ({err}): the activity_monitor role "
                    "on the collection is needed",
                )
            raise
        if not paths:
            return Observation(
                "source_path", "unsettled", "the task reported no transferred file", {}
            )
        form, prefix = classify_source_path(paths[0], source)
        return observed(
            "source_path",
            f"source_path is {form} ({paths[0]!r} for {source!r})",
            form=form,
            reported=paths[0],
            sent=source,
            prefix=prefix,
            task_id=task_id,
        )

    def _rule_limit(self) -> Observation:
        assert self.run_dir is not None
        if self.limits is None and not self.options.probe_rule_limit:
            return not_probed(
                "rule_limit",
                f"reaching the limit means creating up to {GLOBUS_RULE_LIMIT} rules (and "
                "as many deletes) on this collection; pass --probe-rule-limit to do it",
            )
        existing = sum(1 for rule in self.port.list_rules() if rule.get("id"))
        if self.limits is not None:
            self.saved_limit = self.limits.rule_limit()
            self.limits.set_rule_limit(existing + 1)
            budget = 2
        else:
            budget = max(0, GLOBUS_RULE_LIMIT - existing) + RULE_LIMIT_MARGIN
        self.say(f"{existing} rules exist; creating up to {budget} more")
        needs_directory = (
            self.observations.get("rule_on_missing_directory", not_probed("", "")).outcome.get(
                "outcome"
            )
            != "accepted"
        )
        try:
            for index in range(budget):
                if self._remaining() <= 0:
                    return Observation(
                        "rule_limit",
                        "unsettled",
                        f"out of time after {index} more rules ({existing + index} in all)",
                        {"rules": existing + index},
                    )
                path = f"{self.run_dir}limit/{index:04d}/"
                if needs_directory:
                    self.port.mkdir(path)
                try:
                    self._create(path)
                except GlobusError as err:
                    found = _refused("rule_limit", err)
                    return observed(
                        "rule_limit",
                        f"{found.summary} at rule {existing + index + 1}",
                        **found.outcome,
                        rules_before=existing + index,
                        lowered_limit=self.saved_limit is not None,
                    )
        finally:
            self._restore_limit()
        return observed(
            "rule_limit",
            f"no limit reached at {existing + budget} rules",
            outcome="accepted",
            rules_before=existing + budget,
        )

    def _restore_limit(self) -> None:
        if self.limits is not None and self.saved_limit is not None:
            self.limits.set_rule_limit(self.saved_limit)
            self.saved_limit = None
            self.limit_restored = True

    def _finish_expiry(self, expiring: _Expiring) -> Observation:
        if not self._sleep_until(expiring.expires + timedelta(seconds=1)):
            return Observation(
                "rule_expiry",
                "unsettled",
                "out of time before the rule expired (raise --max-wait)",
                {"expiration_date": expiring.expires.isoformat()},
            )
        settled = expiring.expires + timedelta(seconds=self.options.settle)
        poll = self.options.settle if self.clock.simulated else self.options.poll_seconds
        while True:
            listed = next(
                (r for r in self.port.list_rules() if r.get("id") == expiring.rule_id), None
            )
            after = round((self.clock.now() - expiring.expires).total_seconds())
            if listed is None:
                self.rules.remove(expiring.rule_id)
                return observed(
                    "rule_expiry",
                    f"deleted: gone from the access list {after} s after its expiration_date",
                    outcome="deleted",
                    seconds_after_expiry=after,
                )
            if self.clock.now() >= settled or self._remaining() <= 0:
                return self._kept(expiring, listed, after)
            self._sleep_until(min(settled, self.clock.now() + timedelta(seconds=poll)))

    def _kept(self, expiring: _Expiring, listed: dict[str, Any], after: int) -> Observation:
        try:
            self._create(expiring.path, expiring.expires + timedelta(days=1))
            recreate = "created (an expired listed rule does not block a new one)"
        except GlobusError as err:
            recreate = f"{err.http_status} {err.code}"
        return observed(
            "rule_expiry",
            f"kept listed {after} s after its expiration_date",
            outcome="kept_listed",
            seconds_after_expiry=after,
            listed_expiration_date=listed.get("expiration_date"),
            recreate_while_listed=recreate,
        )

    def _sleep_until(self, when: datetime) -> bool:
        """Wait (or move the sandbox clock) until ``when``; False when the real deadline
        comes first."""
        while True:
            left = (when - self.clock.now()).total_seconds()
            if left <= 0:
                return True
            if self.clock.simulated:
                self.clock.sleep(left)
                continue
            if self._remaining() <= 0:
                return False
            self.clock.sleep(min(left, self._remaining(), 5.0))

    def _wait_task(self, task_id: str, *, service_seconds: float, real_deadline: float) -> str:
        give_up = self.clock.now() + timedelta(seconds=service_seconds)
        while True:
            status = self.port.task_status(task_id)
            if status in ("SUCCEEDED", "FAILED"):
                return status
            if self.clock.now() >= give_up or self.monotonic() >= real_deadline:
                return status
            self.clock.sleep(TASK_POLL)

    # --- cleaning up -----------------------------------------------------------------

    def clean_up(self) -> Cleanup:
        cleanup = Cleanup(directory=self.run_dir)
        self.port.allow_cleanup(len(self.rules) + 2 + int(CLEANUP_WAIT / TASK_POLL))
        for rule_id in list(self.rules):
            try:
                self.port.delete_rule(rule_id)
                cleanup.rules_deleted += 1
            except GlobusError as err:
                if err.http_status == 404:
                    cleanup.rules_deleted += 1
                else:
                    cleanup.rules_left.append(rule_id)
                    cleanup.errors.append(f"rule {rule_id}: {err}")
            self.rules.remove(rule_id)
        if self.saved_limit is not None:
            try:
                self._restore_limit()
            except Exception as err:  # a control-plane failure must not stop the cleanup
                self.limit_restored = False
                cleanup.errors.append(f"sandbox rule limit: {err}")
        cleanup.rule_limit_restored = self.limit_restored
        if self.run_dir is not None:
            try:
                cleanup.delete_task = self.port.submit_delete(self.run_dir)
                cleanup.delete_status = self._wait_task(
                    cleanup.delete_task,
                    service_seconds=CLEANUP_WAIT,
                    real_deadline=self.monotonic() + CLEANUP_WAIT,
                )
            except GlobusError as err:
                cleanup.errors.append(f"directory {self.run_dir}: {err}")
        return cleanup


def _refused(name: str, err: GlobusError) -> Observation:
    return observed(
        name,
        f"refused: {err.http_status} {err.code}",
        **error_outcome(err.http_status, err.code, err.message),
    )
