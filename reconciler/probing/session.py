"""One probe run's state and the primitives every behaviour uses: creating and deleting
its own rules (tracked for cleaning up), waiting on the probe's clock within the real
deadline, following a task, and cleaning up everything it made."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from reconciler.core.probe import Observation, error_outcome
from reconciler.core.readiness import RULE_ROLES
from reconciler.errors import GlobusError
from reconciler.globus.probing import ProbePort
from reconciler.probing.model import (
    CLEANUP_WAIT,
    Cleanup,
    ProbeClock,
    ProbeOptions,
    RuleLimitControl,
)

TASK_POLL = 3.0
"""Seconds between two looks at a task (sandbox seconds on the sandbox)."""


class ProbeSession:
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
        """Ids of the rules the probe made that may still exist: cleaning up deletes them."""
        self.run_dir: str | None = None
        self.saved_limit: int | None = None
        self.limit_restored: bool | None = None
        self.refused: str | None = None
        self.scratch_entries: list[dict[str, Any]] = []

    def remaining(self) -> float:
        return self.deadline - self.monotonic()

    def record(self, name: str, step: Callable[[], Observation]) -> None:
        """Run one behaviour; an unexpected Globus answer is its observation."""
        try:
            self.observations[name] = step()
        except GlobusError as err:
            self.observations[name] = Observation(
                name,
                "error",
                f"unexpected answer: {err}",
                error_outcome(err.http_status, err.code, err.message),
            )

    def start(self) -> bool:
        """Check the role and the scratch directory, then make the run directory. False
        (with ``refused`` set) when the probe cannot run here."""
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
        # Recorded before the call: if the answer is lost, cleaning up still removes it.
        self.run_dir = f"{self.port.scratch}reconciler-probe-{stamp}-{secrets.token_hex(3)}/"
        self.say(f"working in {self.run_dir}")
        self.port.mkdir(self.run_dir)
        return True

    def path(self, relative: str) -> str:
        assert self.run_dir is not None, "start() makes the run directory first"
        return f"{self.run_dir}{relative}"

    def create(self, path: str, expires: datetime | None = None) -> str:
        rule_id = self.port.create_rule(
            principal=self.options.principal, path=path, expires=expires
        )
        self.rules.append(rule_id)
        return rule_id

    def delete(self, rule_id: str) -> None:
        self.port.delete_rule(rule_id)
        self.rules.remove(rule_id)

    def sleep_until(self, when: datetime) -> bool:
        """Wait (or move the sandbox clock) until ``when``; False when the real deadline
        comes first."""
        while True:
            left = (when - self.clock.now()).total_seconds()
            if left <= 0:
                return True
            if self.clock.simulated:
                self.clock.sleep(left)
                continue
            if self.remaining() <= 0:
                return False
            self.clock.sleep(min(left, self.remaining(), 5.0))

    def wait_task(self, task_id: str, *, service_seconds: float, real_deadline: float) -> str:
        """The task's status once it is done, or when either bound is reached."""
        give_up = self.clock.now() + timedelta(seconds=service_seconds)
        while True:
            status = self.port.task_status(task_id)
            if status in ("SUCCEEDED", "FAILED"):
                return status
            if self.clock.now() >= give_up or self.monotonic() >= real_deadline:
                return status
            self.clock.sleep(TASK_POLL)

    def lower_rule_limit(self, limit: int) -> None:
        assert self.limits is not None
        self.saved_limit = self.limits.rule_limit()
        self.limits.set_rule_limit(limit)

    def restore_rule_limit(self) -> None:
        if self.limits is not None and self.saved_limit is not None:
            self.limits.set_rule_limit(self.saved_limit)
            self.saved_limit = None
            self.limit_restored = True

    def clean_up(self) -> Cleanup:
        """Delete the probe's rules, restore the sandbox's rule limit, remove the run
        directory with one delete task (waiting at most ``CLEANUP_WAIT`` for it). Never
        raises for a Globus answer: what could not be undone is listed."""
        cleanup = Cleanup(directory=self.run_dir)
        self.port.allow_cleanup(len(self.rules) + 4 + int(CLEANUP_WAIT / TASK_POLL))
        for rule_id in self._rules_to_delete(cleanup):
            try:
                self.port.delete_rule(rule_id)
                cleanup.rules_deleted += 1
            except GlobusError as err:
                if err.http_status == 404:
                    cleanup.rules_deleted += 1
                else:
                    cleanup.rules_left.append(rule_id)
                    cleanup.errors.append(f"rule {rule_id}: {err}")
            if rule_id in self.rules:
                self.rules.remove(rule_id)
        if self.saved_limit is not None:
            try:
                self.restore_rule_limit()
            except Exception as err:  # a control-plane failure must not stop the cleanup
                self.limit_restored = False
                cleanup.errors.append(f"sandbox rule limit: {err}")
        cleanup.rule_limit_restored = self.limit_restored
        if self.run_dir is not None:
            try:
                cleanup.delete_task = self.port.submit_delete(self.run_dir)
                cleanup.delete_status = self.wait_task(
                    cleanup.delete_task,
                    service_seconds=CLEANUP_WAIT,
                    real_deadline=self.monotonic() + CLEANUP_WAIT,
                )
                if cleanup.delete_status == "FAILED":
                    cleanup.directory_absent = self._is_absent(self.run_dir)
            except GlobusError as err:
                cleanup.errors.append(f"directory {self.run_dir}: {err}")
        return cleanup

    def _is_absent(self, path: str) -> bool:
        """Whether listing ``path`` answers 404: a delete task fails on a directory that
        was never made, and then nothing is left behind."""
        try:
            self.port.ls(path)
        except GlobusError as err:
            return err.http_status == 404
        return False

    def _rules_to_delete(self, cleanup: Cleanup) -> list[str]:
        """The rules the probe knows it made, and any other rule in its run directory:
        one whose creation Globus carried out but whose answer never came back (a
        dropped connection, a Ctrl-C) has no id here, yet it is the probe's too."""
        ids = list(self.rules)
        if self.run_dir is None:
            return ids
        try:
            listed = self.port.list_rules()
        except GlobusError as err:
            cleanup.errors.append(f"cannot list the rules to find any left behind: {err}")
            return ids
        strays = [
            str(rule["id"])
            for rule in listed
            if rule.get("id")
            and str(rule.get("path") or "").startswith(self.run_dir)
            and str(rule["id"]) not in ids
        ]
        self.port.allow_cleanup(len(strays))
        return ids + strays
