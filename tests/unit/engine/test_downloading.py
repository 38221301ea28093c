"""The pure parts of following downloads: which grantee a task belongs to, paths in
either namespace, and times in the whole seconds Transfer's filter takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from reconciler.downloading import compute_task_owners, compute_whole_seconds, relative_under
from reconciler.globus.activity import DownloadTask, format_window_start

ALICE, BOB, ORCID = "alice-id", "bob-id", "alice-orcid-id"
DONE = datetime(2026, 5, 1, 12, 0, 7, 654321, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "host", "expected"),
    [
        ("/disthome/a/x.dat", None, "x.dat"),
        ("/disthome/a/sub/x.dat", "/gcs/guests/c/", "sub/x.dat"),
        ("/gcs/guests/c/disthome/a/x.dat", "/gcs/guests/c/", "x.dat"),
        ("/gcs/guests/c/disthome/a/x.dat", None, None),  # a host path without the host
        ("/elsewhere/disthome/a/x.dat", "/gcs/guests/c/", None),
        ("/disthome/ab/x.dat", None, None),
    ],
)
def test_relative_under_accepts_guest_and_host_paths(
    path: str, host: str | None, expected: str | None
) -> None:
    assert relative_under(path, "/disthome/a/", host) == expected


def test_tasks_belong_to_their_owner_or_to_the_grantee_transfer_links_them_to() -> None:
    tasks = [
        DownloadTask("t1", ALICE, DONE),
        DownloadTask("t2", ORCID, DONE),
        DownloadTask("t3", "stranger", DONE),
    ]
    linked = {ALICE: frozenset({"t1", "t2"}), BOB: frozenset()}
    assert compute_task_owners(tasks, [ALICE, BOB], linked) == {"t1": [ALICE], "t2": [ALICE]}
    assert compute_task_owners(tasks, [ALICE, BOB], {}) == {"t1": [ALICE]}


def test_times_are_sent_in_whole_utc_seconds() -> None:
    assert format_window_start(DONE) == "2026-05-01T12:00:07"
    east = DONE.astimezone(timezone(timedelta(hours=2)))
    assert format_window_start(east) == "2026-05-01T12:00:07"
    assert compute_whole_seconds(DONE) == DONE.replace(microsecond=0)
