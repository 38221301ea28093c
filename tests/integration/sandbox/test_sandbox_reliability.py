"""Faults, the request log, persistence across restarts, and the loopback-only control plane."""

from __future__ import annotations

import contextlib
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import globus_sdk
import pytest

from reconciler.sandbox.control_client import SandboxControl, SandboxControlError
from reconciler.sandbox.embedded import start_sandbox


@pytest.fixture
def collection(sandbox) -> str:
    return sandbox.add_managed_collection()


def _calls(sandbox, since: int, suffix: str) -> list[dict]:
    return [e for e in sandbox.control.request_log(since)["entries"] if e["path"].endswith(suffix)]


def test_sdk_survives_two_injected_429s(sandbox, transfer_client, collection) -> None:
    transfer_client.get_submission_id()  # log in first, so only the listing is counted
    mark = sandbox.control.clear_request_log()
    fault = sandbox.control.inject_fault(
        method="GET", path=r"/access_list$", status=429, times=2, retry_after=0
    )
    listing = transfer_client.endpoint_acl_list(collection)
    assert listing["DATA_TYPE"] == "access_list"
    calls = _calls(sandbox, mark, "/access_list")
    assert [(c["status"], c["fault"]) for c in calls] == [
        (429, fault["id"]),
        (429, fault["id"]),
        (200, None),
    ]
    assert sandbox.control.faults() == []  # used up


def test_dropped_connection_and_latency(sandbox, transfer_client, collection) -> None:
    transfer_client.get_submission_id()
    mark = sandbox.control.clear_request_log()
    sandbox.control.inject_fault(path="/access_list$", drop=True, times=1)
    sandbox.control.inject_fault(path="/submission_id$", latency_ms=150, times=1)
    assert transfer_client.endpoint_acl_list(collection)["length"] == 1
    assert [c["status"] for c in _calls(sandbox, mark, "/access_list")] == [None, 200]
    transfer_client.get_submission_id()
    (slow,) = _calls(sandbox, mark, "/submission_id")
    assert slow["latency_ms"] >= 150
    assert slow["service"] == "transfer"


def test_injected_error_shape_and_clearing(sandbox, transfer_client, collection) -> None:
    sandbox.control.inject_fault(
        path="/access_list$", status=503, code="ServiceUnavailable", message="maintenance"
    )
    with (
        transfer_client.retry_config.tune(max_retries=0),
        pytest.raises(globus_sdk.TransferAPIError) as err,
    ):
        transfer_client.endpoint_acl_list(collection)
    assert (err.value.http_status, err.value.code, err.value.message) == (
        503,
        "ServiceUnavailable",
        "maintenance",
    )
    assert err.value.request_id
    assert sandbox.control.clear_faults() == 1
    assert transfer_client.endpoint_acl_list(collection)["length"] == 1
    with pytest.raises(SandboxControlError) as bad:
        sandbox.control.inject_fault(path="(", status=500)
    assert bad.value.status == 400


def test_probability_faults_are_seeded(sandbox, transfer_client, collection) -> None:
    transfer_client.get_submission_id()
    mark = sandbox.control.clear_request_log()
    sandbox.control.inject_fault(path="/access_list$", status=500, probability=0.5)
    with transfer_client.retry_config.tune(max_retries=0):
        for _ in range(20):
            with contextlib.suppress(globus_sdk.TransferAPIError):
                transfer_client.endpoint_acl_list(collection)
    statuses = [c["status"] for c in _calls(sandbox, mark, "/access_list")]
    assert 0 < statuses.count(500) < 20
    assert statuses.count(200) + statuses.count(500) == 20


def test_world_survives_a_restart(sandbox, transfer_client, collection) -> None:
    alice = sandbox.control.add_identity("alice@example.org")["id"]
    rule = {
        "DATA_TYPE": "access",
        "principal_type": "identity",
        "principal": alice,
        "path": "/disthome/run42/",
        "permissions": "r",
    }
    rule_id = transfer_client.add_endpoint_acl_rule(collection, rule)["access_id"]
    sandbox.control.advance_clock(3600)
    sandbox.restart()
    listing = transfer_client.endpoint_acl_list(collection)  # same token, same world
    assert rule_id in {e["id"] for e in listing["DATA"]}
    assert sandbox.control.clock()["offset_seconds"] >= 3600


def _non_loopback_address() -> str | None:
    candidates = []
    with contextlib.suppress(OSError):
        candidates.append(socket.gethostbyname(socket.gethostname()))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks a route
        candidates.append(probe.getsockname()[0])
    for address in candidates:
        if address and not address.startswith("127.") and address != "0.0.0.0":
            return address
    return None


def test_control_plane_refuses_non_loopback_clients(tmp_path) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    with start_sandbox(tmp_path / "open.db", host="0.0.0.0") as running:
        remote = SandboxControl(f"http://{address}:{running.port}")
        with pytest.raises(SandboxControlError) as refused:
            remote.dump()
        assert refused.value.status == 403
        assert SandboxControl(f"http://127.0.0.1:{running.port}").health()["ok"] is True
        # the Globus API itself answers remote callers (here: 401, no token)
        with pytest.raises(urllib.error.HTTPError) as api:
            urllib.request.urlopen(f"http://{address}:{running.port}/v0.10/submission_id")
        assert api.value.code == 401
        api.value.close()


def test_concurrent_creates_are_serialised(sandbox, globus_app, collection) -> None:
    alice = sandbox.control.add_identity("alice@example.org")["id"]

    def create(path: str) -> str:
        with globus_sdk.TransferClient(app=globus_app) as transfer:
            try:
                return transfer.add_endpoint_acl_rule(
                    collection,
                    {
                        "DATA_TYPE": "access",
                        "principal_type": "identity",
                        "principal": alice,
                        "path": path,
                        "permissions": "r",
                    },
                )["code"]
            except globus_sdk.TransferAPIError as err:
                return err.code

    paths = ["/disthome/same/"] * 8 + [f"/disthome/d{i}/" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, paths))
    assert codes[:8].count("Created") == 1
    assert codes[:8].count("Exists") == 7
    assert codes[8:] == ["Created"] * 8


def test_optional_transfer_rate_limit(sandbox, transfer_client) -> None:
    transfer_client.get_submission_id()
    sandbox.control.update_settings(transfer_rate_limit=1)  # 10 calls per 10 s window
    with transfer_client.retry_config.tune(max_retries=0):
        for _ in range(10):  # calls made before the limit was set are not counted
            transfer_client.get_submission_id()
        with pytest.raises(globus_sdk.TransferAPIError) as limited:
            transfer_client.get_submission_id()
    assert (limited.value.http_status, limited.value.code) == (429, "RequestLimitExceeded")
    assert int(limited.value.headers["Retry-After"]) >= 1
