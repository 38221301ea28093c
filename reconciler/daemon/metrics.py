"""Prometheus metrics of the daemon, in a private registry (controller-runtime style names).

``observe`` turns each ``PassReport`` into counter increments and gauge values; the
Globus request counts are read from the clients' ``RequestStats`` at scrape time by a
custom collector, so they are always exact. This module records; it serves nothing
(``serving`` exposes ``render()`` over HTTP).
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from typing import get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler import __version__
from reconciler.core.actions import Action
from reconciler.daemon.reports import PASS_RESULTS, PassReport
from reconciler.daemon.scheduling import Wake

ACTION_STATUSES = ("done", "failed", "skipped")
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

RequestCounts = Mapping[tuple[str, str], int]


class GlobusRequestCollector(Collector):
    """``reconciler_globus_requests_total{service,status}`` from a live snapshot."""

    def __init__(self, snapshot: Callable[[], RequestCounts]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "reconciler_globus_requests",
            "HTTP requests sent to Globus (retries included) by service and status "
            "(status is the HTTP code, or 'error' when no response came back).",
            labels=["service", "status"],
        )
        for (service, status), count in sorted(self._snapshot().items()):
            family.add_metric([service, status], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


def compute_build_labels() -> dict[str, str]:
    """The versions ``reconciler_build_info`` carries (read from package metadata)."""
    labels = {"version": __version__, "python": platform.python_version()}
    for package in ("globus-sdk", "pydantic"):
        try:
            labels[package.replace("-", "_")] = metadata.version(package)
        except metadata.PackageNotFoundError:
            labels[package.replace("-", "_")] = "unknown"
    return labels


class DaemonMetrics:
    def __init__(
        self,
        requests: Callable[[], RequestCounts] | None = None,
        *,
        resync: float | None = None,
    ) -> None:
        # The *_created series only double the exposition; nothing here needs them.
        # (The switch is process-wide: the daemon is the only exporter in its process.)
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # The standard process_* and python_info series, as every Prometheus client has.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        Info("reconciler_build", "Versions of the running reconciler.", registry=r).info(
            compute_build_labels()
        )
        self.passes = Counter(
            "reconciler_passes", "Reconcile passes by result.", ["result"], registry=r
        )
        for result in PASS_RESULTS:
            self.passes.labels(result)
        self.duration = Histogram(
            "reconciler_pass_duration_seconds",
            "Wall time of reconcile passes (suspended checks excluded).",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.actions = Counter(
            "reconciler_actions",
            "Actions carried out, by kind and status.",
            ["kind", "status"],
            registry=r,
        )
        for action_type in get_args(Action):
            for status in ACTION_STATUSES:
                self.actions.labels(action_type.kind, status)
        self.managed_rules = Gauge(
            "reconciler_managed_rules",
            "Access rules the specs keep in force, by collection (as of the last plan).",
            ["collection"],
            registry=r,
        )
        self.managed_memberships = Gauge(
            "reconciler_managed_memberships",
            "Group memberships the specs keep in force, by group (as of the last plan).",
            ["group"],
            registry=r,
        )
        self.next_expiry = Gauge(
            "reconciler_next_expiry_timestamp_seconds",
            "When the next grant or membership expires (Unix time; NaN when none).",
            registry=r,
        )
        self.next_expiry.set(math.nan)
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds",
            "When the last pass that left Globus matching the specs ended (Unix time).",
            registry=r,
        )
        self.spec_valid = Gauge(
            "reconciler_spec_valid",
            "1 when the spec set validates, 0 while the last valid one is kept in force.",
            registry=r,
        )
        self.spec_valid.set(math.nan)  # unknown until the first pass has read the specs
        self.suspended = Gauge(
            "reconciler_suspended", "1 while the daemon is suspended.", registry=r
        )
        self.last_pass = Gauge(
            "reconciler_last_pass_timestamp_seconds",
            "When the last pass ended, whatever its result (Unix time; 0 before the first).",
            registry=r,
        )
        self.resync_interval = Gauge(
            "reconciler_resync_interval_seconds",
            "The configured --resync period (for alerts on passes that stopped coming).",
            registry=r,
        )
        if resync is not None:
            self.resync_interval.set(resync)
        self.overdue = Gauge(
            "reconciler_overdue_revocations",
            "Expired or consumed grants and memberships still in force after the last pass "
            "that planned (a blocked or failing pass leaves them).",
            registry=r,
        )
        self.leader = Gauge(
            "reconciler_leader",
            "1 while this process leads its target (acts on Globus), 0 while it stands by.",
            registry=r,
        )
        if requests is not None:
            r.register(GlobusRequestCollector(requests))

    def observe(self, report: PassReport, _wake: Wake | None) -> None:
        self.passes.labels(report.result).inc()
        self.suspended.set(1 if report.result == "suspended" else 0)
        if report.result == "suspended":
            return
        self.duration.observe(report.duration)
        self.last_pass.set(report.finished.timestamp())
        for (kind, status), count in report.actions.items():
            self.actions.labels(kind, status).inc(count)
        if report.spec_valid is not None:
            self.spec_valid.set(1 if report.spec_valid else 0)
        if report.planned:
            _replace(self.managed_rules, report.managed_rules)
            _replace(self.managed_memberships, report.managed_memberships)
            expiry = report.next_expiry
            self.next_expiry.set(expiry.timestamp() if expiry is not None else math.nan)
            self.overdue.set(report.overdue_revocations)
        if report.applied:
            self.last_success.set(report.finished.timestamp())

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return bytes(generate_latest(self.registry))


def _replace(gauge: Gauge, values: Mapping[str, int]) -> None:
    """Set a labelled gauge to exactly ``values``: a collection or group no longer in the
    specs disappears instead of keeping its last value."""
    gauge.clear()
    for label, value in values.items():
        gauge.labels(label).set(value)
