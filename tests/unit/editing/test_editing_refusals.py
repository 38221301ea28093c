"""A refused edit changes nothing: it raises ``EditRefused`` (or ``BadArgument`` /
``SpecsLocked``) saying what is wrong, where, and how to fix it, and every spec file
stays byte-identical."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler import api
from reconciler.editing.locking import LOCK_NAME

from .conftest import snapshot

BadCase = tuple[Callable[..., api.EditResult], tuple[str, ...], dict[str, Any], str]
Case = tuple[Callable[..., api.EditResult], tuple[str, ...], dict[str, Any], str, str]
COLLECTION = "collections:\n  c:\n    id: e56c36e4-1063-11e6-a747-22000bf2d559\n    root: /d/\n"


@pytest.fixture
def unchanged(odd: Path) -> Iterator[Path]:
    """The odd spec directory, checked to be byte-identical after the test."""
    before = snapshot(odd)
    yield odd
    after = snapshot(odd)
    after.pop(LOCK_NAME, None)
    assert after == before


def refused(
    kind: type[api.EditRefused], call: Callable[..., api.EditResult], *args: Any, **kwargs: Any
) -> api.EditRefused:
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    "case",
    [
        (
            api.add_grant,
            ("per-usr", "x@y.org"),
            {"duration": "1d"},
            "there is no distribution `per-usr` in",
            "did you mean `per-user`? or create it with --create --collection NAME",
        ),
        (
            api.add_grant,
            ("per-user", "alice@EXAMPLE.org"),
            {"duration": "1d"},
            "alice@EXAMPLE.org already has a grant on /disthome/{identity_id}/ in distribution "
            "`per-user`",
            "reconciler grant extend per-user alice@EXAMPLE.org",
        ),
        (
            api.add_grant,
            ("per-user", "x@y.org"),
            {"expires": "2026-01-01"},
            "the expiry 2026-01-01 is not in the future",
            "--for",
        ),
        (
            api.add_grant,
            ("newd", "x@y.org"),
            {"duration": "1d", "create": True, "collection": "tutorail"},
            "there is no collection `tutorail`",
            "did you mean `tutorial`?",
        ),
        (
            api.add_grant,
            ("per-user", "x@y.org"),
            {"duration": "1d", "create": True, "collection": "shared-rw"},
            "already exists in collection `tutorial`",
            "leave out --create",
        ),
        (
            api.extend_grant,
            ("per-user", "zed@example.org"),
            {"duration": "1d"},
            "zed@example.org has no grant in distribution `per-user`",
            "reconciler grant add per-user zed@example.org",
        ),
        (
            api.extend_grant,
            ("per-user", "alice@example.org"),
            {"duration": "1d", "path": "/disthome/other/"},
            "has no grant on /disthome/other/",
            "/disthome/{identity_id}/",
        ),
        (
            api.extend_grant,
            ("per-user", "alice@example.org"),
            {"expires": "2026-11-26T11:00:00Z"},
            "is not in the future",
            "reconciler grant revoke per-user alice@example.org",
        ),
        (
            api.revoke_grant,
            ("nope", "alice@example.org"),
            {},
            "there is no distribution `nope`",
            "check the name",
        ),
        (
            api.add_membership,
            ("stafff", "x@y.org"),
            {"duration": "1d"},
            "there is no group `stafff` declared",
            "did you mean `staff`?",
        ),
        (
            api.add_membership,
            ("staff", "Dave@example.org"),
            {"duration": "1d"},
            "Dave@example.org is already a member of `staff`",
            "reconciler membership extend staff Dave@example.org",
        ),
        (
            api.revoke_membership,
            ("staff", "carol@example.org"),
            {},
            "carol@example.org has no membership in `staff`",
            "reconciler membership add staff carol@example.org",
        ),
    ],
)
def test_requests_that_cannot_be_done(unchanged: Path, now: datetime, case: Case) -> None:
    call, args, kwargs, message, hint = case
    error = refused(api.EditRefused, call, unchanged, *args, now=now, **kwargs)
    assert isinstance(error, api.AlreadyExists) == (
        "already has" in message or "already a" in message
    )
    assert message in error.message
    assert error.hint is not None
    assert hint in error.hint
    assert not error.diagnostics


@pytest.mark.parametrize(
    "case",
    [
        (
            api.add_grant,
            ("per-user", "x@y.org"),
            {"duration": "731d"},
            "grants.yaml:24:22",
            "later than collection `tutorial` allows: its max_duration 730d",
        ),
        (
            api.add_grant,
            ("per-user", "x@y.org"),
            {"duration": "1d", "permissions": "rw"},
            "grants.yaml:25:26",
            "permissions `rw` exceed the policy of collection `tutorial`",
        ),
        (
            api.add_grant,
            ("shared", "public:anonymous"),
            {"duration": "1d", "path": "/disthome/public/"},
            "grants.yaml:31:21",
            "does not allow public grants",
        ),
        (
            api.add_grant,
            ("shared", "group:nogroup"),
            {"duration": "1d", "path": "/disthome/x/"},
            "grants.yaml:31:20",
            "nogroup",
        ),
        (
            api.add_grant,
            ("shared", "x@y.org"),
            {"duration": "1d", "path": "/elsewhere/"},
            "grants.yaml:32:19",
            "root",
        ),
        (
            api.extend_membership,
            ("staff", "erin@example.org"),
            {"duration": "401d"},
            "more.yaml:15:14",
            "max_duration 400d",
        ),
    ],
)
def test_edits_that_would_break_the_language_or_a_policy(
    unchanged: Path, now: datetime, case: Case
) -> None:
    call, args, kwargs, located, message = case
    error = refused(api.EditRefused, call, unchanged, *args, now=now, **kwargs)
    assert error.message.startswith("this edit would make the spec set invalid")
    assert [d.severity for d in error.diagnostics] == ["error"]
    assert error.diagnostics[0].location == f"{unchanged}/{located}"
    assert message in error.diagnostics[0].message


@pytest.mark.parametrize(
    "case",
    [
        (api.add_grant, ("per-user", "bob"), {"duration": "1d"}, "neither a username nor"),
        (api.add_grant, ("per-user", "group:Not A Name"), {"duration": "1d"}, "does not name"),
        (api.add_grant, ("per-user", "public:everyone"), {"duration": "1d"}, "not a public"),
        (api.add_grant, ("per-user", "x@y.org"), {}, "exactly one of"),
        (
            api.add_grant,
            ("per-user", "x@y.org"),
            {"duration": "1d", "expires": "2027-01-01"},
            "exactly one",
        ),
        (api.add_grant, ("per-user", "x@y.org"), {"duration": "0d"}, "is zero"),
        (api.add_grant, ("per-user", "x@y.org"), {"duration": "2 days"}, "not a duration"),
        (api.add_grant, ("per-user", "x@y.org"), {"expires": "2027-01-01T10:00"}, "no timezone"),
        (api.add_grant, ("per-user", "x@y.org"), {"expires": "soon"}, "not a date"),
        (
            api.add_grant,
            ("per-user", "x@y.org"),
            {"duration": "1d", "permissions": "w"},
            "r` or `rw",
        ),
        (api.add_grant, ("per-user", "x@y.org"), {"duration": "1d", "file": "x.yaml"}, "--create"),
        (
            api.add_grant,
            ("new", "x@y.org"),
            {"duration": "1d", "create": True, "collection": "tutorial", "file": "/tmp/x.yaml"},
            "not inside the spec directory",
        ),
        (
            api.add_grant,
            ("new", "x@y.org"),
            {"duration": "1d", "create": True, "collection": "tutorial", "file": "new.txt"},
            "not a .yaml or .yml",
        ),
        (
            api.add_membership,
            ("staff", "x@y.org"),
            {"duration": "1d", "file": ".hidden.yaml"},
            "hidden",
        ),
        (api.add_grant, ("new", "x@y.org"), {"duration": "1d", "create": True}, "--collection"),
        (api.tidy, (), {"older_than": "forever"}, "not a duration"),
        (api.tidy, (), {"paths": ["/"]}, "not inside the spec directory"),
    ],
)
def test_arguments_that_cannot_be_understood(
    unchanged: Path, now: datetime, monkeypatch: pytest.MonkeyPatch, case: BadCase
) -> None:
    call, args, kwargs, message = case
    monkeypatch.chdir(unchanged)
    error = refused(api.BadArgument, call, unchanged, *args, now=now, **kwargs)
    assert message in str(error)


def test_an_invalid_spec_set_is_not_edited(write_specs: Any, now: datetime) -> None:
    specs = write_specs(
        {
            "c.yaml": COLLECTION,
            "d.yaml": "distributions:\n  - name: a\n    collection: c\n"
            "    path: /d/{identity_id}/\n    grants: []\n",
            "bad.yaml": "distributions:\n  - name: b\n    collection: nope\n    grants: []\n",
        }
    )
    before = snapshot(specs)
    error = refused(api.EditRefused, api.add_grant, specs, "a", "x@y.org", duration="1d", now=now)
    assert error.message.startswith("the spec set is invalid already")
    assert [d.location for d in error.diagnostics] == [f"{specs}/bad.yaml:3:17"]
    after = snapshot(specs)
    after.pop(LOCK_NAME)
    assert after == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"distributions: [\n", "cannot be read as YAML"),
        (b"distributions:\n\t- name: a\n", "cannot be read as YAML"),
        (b"groups: {g: {id: \xff}}\n", "not UTF-8"),
    ],
)
def test_an_unreadable_file_is_named(
    write_specs: Any, now: datetime, content: bytes, message: str
) -> None:
    specs = write_specs({"c.yaml": COLLECTION, "broken.yaml": content})
    error = refused(api.EditRefused, api.add_grant, specs, "a", "x@y.org", duration="1d", now=now)
    assert f"{specs}/broken.yaml" in error.message
    assert message in error.message
    assert (specs / "broken.yaml").read_bytes() == content


def test_values_shared_through_anchors_are_not_edited_behind_a_readers_back(
    write_specs: Any, now: datetime
) -> None:
    specs = write_specs(
        {
            "c.yaml": COLLECTION,
            "d.yaml": (
                "distributions:\n"
                "  - name: a\n"
                "    collection: c\n"
                "    grants:\n"
                "      - identity: x@y.org\n"
                "        path: /d/x/\n"
                "        expires: &end 2027-01-01\n"
                "      - identity: z@y.org\n"
                "        path: /d/z/\n"
                "        expires: *end\n"
                "      - <<: {expires: 2027-01-01}\n"
                "        identity: k@y.org\n"
                "        path: /d/k/\n"
            ),
        }
    )
    before = (specs / "d.yaml").read_bytes()
    error = refused(
        api.EditRefused, api.extend_grant, specs, "a", "x@y.org", duration="5d", now=now
    )
    assert "without changing other entries too" in error.message
    error = refused(
        api.EditRefused, api.extend_grant, specs, "a", "z@y.org", duration="5d", now=now
    )
    assert "without changing other entries too" in error.message
    error = refused(
        api.EditRefused, api.extend_grant, specs, "a", "k@y.org", duration="5d", now=now
    )
    assert "merge key" in error.message
    assert (specs / "d.yaml").read_bytes() == before


def test_a_writer_that_holds_the_lock_too_long(unchanged: Path, now: datetime) -> None:
    fd = os.open(unchanged / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242\n")
        error = refused(
            api.SpecsLocked,
            api.add_grant,
            unchanged,
            "per-user",
            "x@y.org",
            duration="1d",
            lock_timeout=0.2,
            now=now,
        )
    finally:
        os.close(fd)
    assert "for more than 0.2 s (process 4242)" in error.message
    assert "--lock-timeout" in (error.hint or "")
    assert api.add_grant(
        unchanged, "per-user", "x@y.org", duration="1d", now=now, dry_run=True
    ).changed


def test_commit_outside_a_git_work_tree(unchanged: Path, now: datetime) -> None:
    error = refused(
        api.EditRefused,
        api.add_grant,
        unchanged,
        "per-user",
        "x@y.org",
        duration="1d",
        commit=True,
        now=now,
    )
    assert "is not inside a git work tree" in error.message


def test_a_missing_spec_directory(tmp_path: Path, now: datetime) -> None:
    error = refused(api.EditRefused, api.tidy, tmp_path / "nope", now=now)
    assert "does not exist" in error.message
    assert not (tmp_path / "nope").exists()


def test_dry_run_writes_nothing_not_even_the_lock(unchanged: Path, now: datetime) -> None:
    result = api.add_grant(unchanged, "per-user", "x@y.org", duration="1d", dry_run=True, now=now)
    assert result.changed
    assert result.dry_run
    assert "+        -   identity: x@y.org\n" in result.diff
    assert not (unchanged / LOCK_NAME).exists()
