"""Metrics move with pass reports, and /metrics, /healthz, /readyz answer over HTTP."""

from __future__ import annotations

import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler import __version__
from reconciler.daemon import serving
from reconciler.daemon.health import Health
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.reports import PassReport
from reconciler.daemon.serving import RunningServer, compute_bind_address, start_http_server
from tests.unit.daemon.fakes import T0


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


class Requests:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def __call__(self) -> dict[tuple[str, str], int]:
        return dict(self.counts)


SUCCESS = PassReport(
    "a",
    "success",
    T0,
    T0 + timedelta(seconds=1.5),
    spec_valid=True,
    planned=True,
    applied=True,
    next_expiry=T0 + timedelta(days=1),
    actions={("create_rule", "done"): 2, ("make_directory", "done"): 1},
    managed_rules={"petrel": 3, "other": 1},
    managed_memberships={"dot-omics": 2},
)


@pytest.fixture
def served() -> Iterator[tuple[DaemonMetrics, Health, Requests, RunningServer, list[float]]]:
    requests = Requests()
    metrics = DaemonMetrics(requests=requests)
    now = [1000.0]
    health = Health(resync=10.0, stall_limit=60.0, monotonic=lambda: now[0])
    server = start_http_server("127.0.0.1:0", metrics=metrics.render, health=health)
    yield metrics, health, requests, server, now
    server.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_counters_and_gauges_move_with_reports(
    served: tuple[DaemonMetrics, Health, Requests, RunningServer, list[float]],
) -> None:
    metrics, _health, requests, server, _now = served
    status, before = get(server.url + "/metrics")
    assert status == 200
    assert value(before, "reconciler_passes_total", result="success") == 0
    assert value(before, "reconciler_passes_total", result="invalid_spec") == 0
    assert math.isnan(value(before, "reconciler_next_expiry_timestamp_seconds"))

    requests.counts = {("transfer", "200"): 7, ("groups", "503"): 2}
    metrics.observe(SUCCESS, None)
    metrics.observe(SUCCESS, None)
    _, text = get(server.url + "/metrics")
    assert value(text, "reconciler_passes_total", result="success") == 2
    assert value(text, "reconciler_actions_total", kind="create_rule", status="done") == 4
    assert value(text, "reconciler_pass_duration_seconds_count") == 2
    assert value(text, "reconciler_pass_duration_seconds_sum") == 3.0
    assert value(text, "reconciler_managed_rules", collection="petrel") == 3
    assert value(text, "reconciler_managed_memberships", group="dot-omics") == 2
    assert (
        value(text, "reconciler_next_expiry_timestamp_seconds")
        == (T0 + timedelta(days=1)).timestamp()
    )
    assert value(text, "reconciler_last_success_timestamp_seconds") == SUCCESS.finished.timestamp()
    assert value(text, "reconciler_spec_valid") == 1
    assert value(text, "reconciler_globus_requests_total", service="transfer", status="200") == 7
    assert value(text, "reconciler_globus_requests_total", service="groups", status="503") == 2

    requests.counts = {("transfer", "200"): 9, ("groups", "503"): 2}
    _, later = get(server.url + "/metrics")
    assert value(later, "reconciler_globus_requests_total", service="transfer", status="200") == 9


def test_an_invalid_spec_set_a_blocked_plan_and_suspension_are_visible() -> None:
    metrics = DaemonMetrics()
    metrics.observe(SUCCESS, None)
    invalid = PassReport("b", "invalid_spec", T0, T0, spec_valid=False)
    blocked = PassReport(
        "c", "blocked", T0, T0, spec_valid=True, planned=True, managed_rules={"petrel": 3}
    )
    metrics.observe(invalid, None)
    metrics.observe(blocked, None)
    metrics.observe(PassReport("d", "suspended", T0, T0), None)
    text = metrics.render().decode()
    assert value(text, "reconciler_passes_total", result="invalid_spec") == 1
    assert value(text, "reconciler_passes_total", result="blocked") == 1
    assert value(text, "reconciler_passes_total", result="suspended") == 1
    assert value(text, "reconciler_suspended") == 1
    assert value(text, "reconciler_spec_valid") == 1  # the blocked pass read valid specs
    # a collection no longer planned on disappears instead of keeping its last value
    assert ("reconciler_managed_rules", (("collection", "other"),)) not in samples(text)
    # the blocked pass left last_success where the successful one put it
    assert value(text, "reconciler_last_success_timestamp_seconds") == SUCCESS.finished.timestamp()
    metrics.observe(invalid, None)
    assert value(metrics.render().decode(), "reconciler_spec_valid") == 0
    assert value(metrics.render().decode(), "reconciler_suspended") == 0


def test_health_and_readiness_over_http(
    served: tuple[DaemonMetrics, Health, Requests, RunningServer, list[float]],
) -> None:
    _metrics, health, _requests, server, now = served
    assert get(server.url + "/healthz")[0] == 503  # the loop has not started
    health.loop_started()
    assert get(server.url + "/healthz") == (200, "ok: the reconcile loop is running\n")
    status, body = get(server.url + "/readyz")
    assert (status, body) == (503, "not ok: no pass has succeeded yet\n")

    health.pass_started()
    now[0] += 61  # a pass with no progress for longer than the stall limit
    assert get(server.url + "/healthz")[0] == 503
    health.beat()
    assert get(server.url + "/healthz")[0] == 200
    health.observe(SUCCESS, None)
    assert get(server.url + "/readyz")[0] == 200
    now[0] += 31  # older than three resync periods of 10 s
    status, body = get(server.url + "/readyz")
    assert status == 503
    assert "31s ago" in body
    health.loop_exited()
    assert get(server.url + "/healthz")[0] == 503
    assert get(server.url + "/nothing")[0] == 404


def test_a_client_that_sends_nothing_is_disconnected(monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle connection must not hold a server thread for ever (anyone who reaches
    the address could open thousands)."""
    monkeypatch.setattr(serving, "REQUEST_TIMEOUT", 0.3)
    server = start_http_server("127.0.0.1:0", metrics=lambda: b"", health=Health(resync=10.0))
    host, port = server.url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=20) as idle:
            started = time.monotonic()
            idle.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never the rest
            assert idle.recv(1024) == b""  # closed by the server (else: TimeoutError)
            assert time.monotonic() - started < 15
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        (":9464", ("", 9464)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:0", ("localhost", 0)),
        ("monitor-1.example.org:9464", ("monitor-1.example.org", 9464)),
    ],
)
def test_bind_addresses(text: str, expected: tuple[str, int]) -> None:
    assert compute_bind_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "9464",
        "host:",
        "host:99999",
        "host:http",
        # hosts no URL can carry: each was an "internal error" of `reconciler daemon`
        "a b:80",
        "[::1:80",
        "http://127.0.0.1:9464",
        "[evil.example]:80",
        "-host:80",
    ],
)
def test_bad_bind_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        compute_bind_address(text)


def test_process_build_last_pass_resync_and_overdue_gauges() -> None:
    metrics = DaemonMetrics(resync=120.0)
    text = metrics.render().decode()
    assert value(text, "process_resident_memory_bytes") > 0
    assert value(text, "process_cpu_seconds_total") >= 0
    build = [k for k in samples(text) if k[0] == "reconciler_build_info"]
    (labels,) = [dict(k[1]) for k in build]
    assert labels["version"] == __version__
    assert labels["globus_sdk"][0].isdigit()
    assert value(text, "reconciler_resync_interval_seconds") == 120.0
    assert value(text, "reconciler_last_pass_timestamp_seconds") == 0

    blocked = PassReport(
        "b",
        "blocked",
        T0,
        T0 + timedelta(seconds=2),
        spec_valid=True,
        planned=True,
        overdue_revocations=3,
    )
    metrics.observe(blocked, None)
    text = metrics.render().decode()
    assert value(text, "reconciler_overdue_revocations") == 3
    assert value(text, "reconciler_last_pass_timestamp_seconds") == blocked.finished.timestamp()
    metrics.observe(SUCCESS, None)
    assert value(metrics.render().decode(), "reconciler_overdue_revocations") == 0
