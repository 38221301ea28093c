"""What one pass did, as a value: the loop, the metrics, the health checks and systemd's
status line all read the same ``PassReport``. Summaries are computed here, purely.

A report never holds a secret, a client or a plan: counts, instants and short texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from reconciler.daemon.scheduling import Wake

PassResult = Literal["success", "failed", "blocked", "invalid_spec", "suspended", "standby"]
PASS_RESULTS: tuple[PassResult, ...] = (
    "success",
    "failed",
    "blocked",
    "invalid_spec",
    "suspended",
    "standby",
)


@dataclass(frozen=True, slots=True)
class PassReport:
    """``result``: ``success`` (Globus matches the intent in force), ``failed`` (an error
    or a failed action; retried with backoff), ``blocked`` (problems or the deletion
    guard; nothing applied), ``invalid_spec`` (the spec set does not validate: the last
    valid one, if any, was applied, and ``applied`` says whether that went well),
    ``suspended`` (no pass ran), ``standby`` (another process leads this target: the
    specs were reloaded, nothing else was done).

    ``planned`` says a plan was computed, so ``next_expiry`` and the managed counts are
    current; otherwise they are unknown and the previous values still stand."""

    pass_id: str
    result: PassResult
    started: datetime
    finished: datetime
    spec_valid: bool | None = None
    planned: bool = False
    applied: bool = False
    """Globus matches the intent in force after this pass (no failed or skipped action)."""
    next_expiry: datetime | None = None
    next_check: datetime | None = None
    """When staging tasks or downloads should be looked at again (``Plan.next_check``)."""
    actions: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """Action outcomes by (kind, status), status being done, failed or skipped."""
    managed_rules: Mapping[str, int] = field(default_factory=dict)
    managed_memberships: Mapping[str, int] = field(default_factory=dict)
    overdue_revocations: int = 0
    """Expired or consumed grants and memberships still in force after the pass."""
    error: str | None = None
    """Why the pass failed, was blocked or why the specs are invalid, in one line."""

    @property
    def duration(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())

    def count(self, status: str) -> int:
        return sum(n for (_kind, s), n in self.actions.items() if s == status)


def format_instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def compute_summary(report: PassReport, wake: Wake | None) -> str:
    """One line for systemd's STATUS= and for people: what happened, what comes next."""
    parts = [f"last pass {report.result}"]
    if report.result != "suspended":
        parts[0] += f" in {report.duration:.1f}s"
    if report.actions:
        parts.append(
            f"{report.count('done')} done, {report.count('failed')} failed, "
            f"{report.count('skipped')} skipped"
        )
    if report.error:
        parts.append(_one_line(report.error, 120))
    if wake is not None:
        parts.append(f"next {wake.reason} pass at {format_instant(wake.at)}")
    return "; ".join(parts)


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
