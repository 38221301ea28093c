"""The probe's options, its clocks and the report it returns. No I/O except the wall
clock's own sleeping."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from reconciler.core.probe import Observation
from reconciler.errors import ReconcilerError

CLEANUP_WAIT = 60.0
"""Real seconds cleaning up may wait for its delete task."""


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
    directory_absent: bool = False
    """The run directory is not there (its mkdir failed): nothing was left to delete."""
    rule_limit_restored: bool | None = None
    """None: never lowered; True: lowered and restored; False: could not restore."""
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return (
            not self.rules_left
            and not self.errors
            and self.rule_limit_restored is not False
            and (
                self.directory is None
                or self.directory_absent
                or self.delete_status in ("SUCCEEDED", "ACTIVE")
            )
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
