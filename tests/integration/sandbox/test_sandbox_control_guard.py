"""Finding 10: a web page open in a local browser cannot steer the sandbox. Requests
are sent over real HTTP exactly as a browser would send them cross-site; the world and
the fault table must not change. The project's own callers still work."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from reconciler.sandbox.control_client import SandboxControl


def send(
    url: str, path: str, *, method: str = "POST", body: bytes = b"{}", **headers: str
) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(f"{url}/_sandbox/{path}", data=body, method=method)
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content_Type": "text/plain", "Origin": "https://evil.example"},
                     id="text/plain from a foreign page"),
        pytest.param({"Content_Type": "application/x-www-form-urlencoded",
                      "Origin": "https://evil.example"}, id="a form from a foreign page"),
        pytest.param({"Content_Type": "application/json", "Origin": "https://evil.example"},
                     id="json from a foreign origin"),
        pytest.param({"Content_Type": "text/plain"}, id="text/plain without an origin"),
        pytest.param({"Content_Type": "application/json", "Host": "evil.example:8765"},
                     id="a rebound DNS name"),
    ],
)  # fmt: skip
def test_cross_site_requests_are_refused_and_change_nothing(
    sandbox: object, headers: dict[str, str]
) -> None:
    control: SandboxControl = sandbox.control  # type: ignore[attr-defined]
    url: str = sandbox.url  # type: ignore[attr-defined]
    control.add_identity("alice@example.org")
    before = control.dump()
    for path, body in (
        ("reset", b"{}"),
        ("faults", json.dumps({"status": 500}).encode()),
        ("clock", json.dumps({"advance": 86400}).encode()),
        ("settings", json.dumps({"open_roles": True}).encode()),
    ):
        status, answer = send(url, path, body=body, **headers)
        assert status == 403, (path, answer)
        assert answer["code"] == "Forbidden"
    assert control.faults() == []
    after = control.dump()
    assert after["identities"] == before["identities"]
    assert after["settings"] == before["settings"]
    assert after["clock_offset_seconds"] == before["clock_offset_seconds"]


def test_the_projects_own_callers_are_served(sandbox: object) -> None:
    url: str = sandbox.url  # type: ignore[attr-defined]
    host = url.removeprefix("http://")
    status, _ = send(url, "faults", body=json.dumps({"status": 500, "times": 1}).encode(),
                     Content_Type="application/json")  # fmt: skip
    assert status == 201  # what SandboxControl sends
    status, _ = send(url, "faults", method="DELETE", body=b"",
                     Content_Type="application/json; charset=utf-8",
                     Origin=f"http://{host}")  # fmt: skip
    assert status == 200  # a page served by the sandbox itself, were there one
    with urllib.request.urlopen(f"{url}/_sandbox/health", timeout=10) as response:
        assert response.status == 200  # a plain read, as bench/common.py polls it
