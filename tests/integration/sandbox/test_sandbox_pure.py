"""The sandbox's pure helpers, table-driven (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.sandbox import clock
from reconciler.sandbox.auth import resource_server_of, split_scopes
from reconciler.sandbox.faults import FaultTable
from reconciler.sandbox.routing import ApiError
from reconciler.sandbox.showing import render_world
from reconciler.sandbox.transfer_acl import check_rule_path
from reconciler.sandbox.transfer_fs import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("openid profile", ["openid", "profile"]),
        ("a[b c] d", ["a[b c]", "d"]),
        ("  x\ty  ", ["x", "y"]),
        ("", []),
    ],
)
def test_split_scopes(raw: str, expected: list[str]) -> None:
    assert split_scopes(raw) == expected


@pytest.mark.parametrize(
    ("scope", "server"),
    [
        ("openid", "auth.globus.org"),
        ("urn:globus:auth:scope:auth.globus.org:view_identity_set", "auth.globus.org"),
        ("urn:globus:auth:scope:transfer.api.globus.org:all", "transfer.api.globus.org"),
        ("urn:globus:auth:scope:transfer.api.globus.org:all[x y]", "transfer.api.globus.org"),
        ("https://auth.globus.org/scopes/abc-123/timer[t]", "abc-123"),
    ],
)
def test_resource_server_of(scope: str, server: str) -> None:
    assert resource_server_of(scope) == server


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-31", datetime(2026, 12, 31, tzinfo=UTC)),
        ("2026-12-31T01:02:03Z", datetime(2026, 12, 31, 1, 2, 3, tzinfo=UTC)),
        ("2026-12-31 01:02:03", datetime(2026, 12, 31, 1, 2, 3, tzinfo=UTC)),
        ("2026-12-31T03:02:03+02:00", datetime(2026, 12, 31, 1, 2, 3, tzinfo=UTC)),
    ],
)
def test_parse_iso(text: str, expected: datetime) -> None:
    assert clock.parse_iso(text) == expected.timestamp()
    assert clock.to_iso(expected.timestamp()) == expected.isoformat()


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01"])
def test_parse_iso_rejects(bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - datetime's own messages vary
        clock.parse_iso(bad)


@pytest.mark.parametrize("path", ["/", "/a/", "/a b/c-d_e.f/"])
def test_rule_paths_accepted(path: str) -> None:
    assert check_rule_path(path) == path


@pytest.mark.parametrize("path", [None, "", "a/", "/a", "//", "/a//b/", "/./", "/a/../", "/a\n/"])
def test_rule_paths_rejected(path: object) -> None:
    with pytest.raises(ApiError) as err:
        check_rule_path(path)
    assert (err.value.status, err.value.code) == (400, "InvalidPath")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("/", "/"), ("/a/b/", "/a/b"), ("/a//b", "/a/b"), ("~/x", "/x"), ("/~/x/", "/x")],
)
def test_file_paths_normalised(raw: str, canonical: str) -> None:
    assert normalize(raw) == canonical


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "(", "status": 500},
        {"status": 200},
        {"path": "x"},
        {"status": 500, "times": 0},
        {"status": 500, "probability": 2},
        {"status": 500, "colour": "red"},
    ],
)
def test_fault_specs_are_validated(spec: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        FaultTable().add(spec)


def test_fault_times_are_consumed_in_order() -> None:
    table = FaultTable()
    first = table.add({"path": "/access", "status": 429, "times": 1})
    second = table.add({"method": "POST", "path": "/access", "latency_ms": 5})
    assert table.pick("GET", "/v0.10/endpoint/x/access_list") is first
    assert table.pick("GET", "/v0.10/endpoint/x/access_list") is None
    assert table.pick("POST", "/v0.10/endpoint/x/access") is second
    assert [f["id"] for f in table.list()] == [second.id]


def test_render_world_names_principals_and_time_left() -> None:
    dump = {
        "now": "2026-01-01T00:00:00+00:00",
        "clock_offset_seconds": 0,
        "settings": {"expiry_mode": "keep"},
        "identities": [{"id": "i1", "username": "alice@example.org"}],
        "collections": [
            {
                "id": "c1",
                "display_name": "petrel",
                "subscribed": True,
                "roles": [],
                "rules": [
                    {
                        "principal_type": "identity",
                        "principal": "i1",
                        "path": "/disthome/a/",
                        "permissions": "r",
                        "expiration_date": "2026-01-03T00:00:00+00:00",
                    },
                    {
                        "principal_type": "group",
                        "principal": "g1",
                        "path": "/disthome/b/",
                        "permissions": "r",
                        "expiration_date": "2025-12-31T00:00:00+00:00",
                    },
                ],
                "tree": [
                    {"path": "/disthome", "type": "dir", "size": 0},
                    {"path": "/disthome/a", "type": "dir", "size": 0},
                    {"path": "/disthome/a/f.dat", "type": "file", "size": 2048},
                ],
            }
        ],
        "groups": [{"id": "g1", "name": "dot-omics", "memberships": []}],
        "tasks": [],
        "notifications": [],
    }
    text = render_world(dump)
    assert "alice@example.org  /disthome/a/  r     2026-01-03T00:00:00+00:00 (2d 0h left)" in text
    assert "group dot-omics" in text
    assert "(expired 1d 0h ago) INERT" in text
    assert "      f.dat  (2.0 KiB)" in text
