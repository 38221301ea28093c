"""deploy/: the Grafana dashboard is valid JSON and the Prometheus alert rules are well
formed, and every query in either parses as PromQL (promql-parser) and names only
metrics the daemon's registry really exports."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from ruamel.yaml import YAML

from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.reports import PassReport

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS_BUILTIN = {"up"}
"""Series Prometheus makes itself for every scrape target."""
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def exported_metric_names() -> set[str]:
    """Sample names the running registry exposes once every labelled family has a child."""
    metrics = DaemonMetrics(requests=lambda: {("transfer", "200"): 3}, resync=300.0)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    metrics.observe(
        PassReport(
            "p",
            "success",
            now,
            now,
            spec_valid=True,
            planned=True,
            applied=True,
            managed_rules={"petrel": 2},
            managed_memberships={"tutorial": 1},
        ),
        None,
    )
    return {sample.name for family in metrics.registry.collect() for sample in family.samples}


def selected_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (raises on a syntax error)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def alert_rules() -> list[dict[str, Any]]:
    document = YAML(typ="safe").load((DEPLOY / "prometheus-alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_the_query_checker_can_fail() -> None:
    assert selected_metrics('sum by (le) (rate(a_total{x="y"}[5m])) > b') == {"a_total", "b"}
    with pytest.raises(ValueError):  # noqa: PT011  # the parser's own message varies
        selected_metrics("sum by (le) (rate(a_total[5m])")


def test_the_grafana_dashboard_is_valid_and_queries_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert dashboard["title"]
    assert dashboard["uid"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exported = exported_metric_names()
    queries = dashboard_queries()
    assert len(queries) >= 10
    used: set[str] = set()
    for expr in queries:
        names = selected_metrics(expr)
        assert names, expr
        assert names <= exported, f"{expr}: unknown {names - exported}"
        used |= names
    # the dashboard covers passes, actions, expiries, Globus requests and the process
    for needed in (
        "reconciler_passes_total",
        "reconciler_actions_total",
        "reconciler_next_expiry_timestamp_seconds",
        "reconciler_globus_requests_total",
        "process_cpu_seconds_total",
        "reconciler_build_info",
    ):
        assert needed in used


def test_the_alert_rules_are_well_formed_and_query_real_metrics() -> None:
    exported = exported_metric_names() | PROMETHEUS_BUILTIN
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
        assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
        assert promql_parser.parse_duration(rule["for"])  # type: ignore[attr-defined]
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
        metrics = selected_metrics(rule["expr"])
        assert metrics <= exported, f"{rule['alert']}: unknown {metrics - exported}"
    by_name = {rule["alert"]: selected_metrics(rule["expr"]) for rule in rules}
    # the conditions the issue asks for
    assert "reconciler_passes_total" in by_name["ReconcilerPassBlocked"]
    assert "reconciler_passes_total" in by_name["ReconcilerPassesFailing"]
    assert by_name["ReconcilerSpecInvalid"] == {"reconciler_spec_valid"}
    assert {
        "reconciler_last_pass_timestamp_seconds",
        "reconciler_resync_interval_seconds",
    } <= by_name["ReconcilerNoRecentPass"]
    assert by_name["ReconcilerExpiryBacklog"] == {"reconciler_overdue_revocations"}
