"""The state store's behaviour, the same on SQLite and PostgreSQL (each test runs on
both): staging reservations, consumption, downloads and watermarks, the directory
inventory, removals, scheduled removals and the spec-file inventory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from reconciler.core.lifecycle import RuleKey, ScheduledRemoval
from reconciler.state import SqlStateStore

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
C = "e56c36e4-1063-11e6-a747-22000bf2d559"
KEY: RuleKey = (C, "identity", "alice-id", "/disthome/alice/")
OTHER: RuleKey = (C, "identity", "bob-id", "/disthome/bob/")
SOURCE = ("0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11", "/datasets/run42/")


def test_a_new_store_is_empty(store: SqlStateStore) -> None:
    lifecycle = store.load_lifecycle()
    assert lifecycle.stagings == {}
    assert lifecycle.consumed == frozenset()
    assert lifecycle.cleanable_directories == frozenset()
    assert store.pending_removals() == []


def test_a_reservation_is_kept_for_the_same_source(store: SqlStateStore) -> None:
    first = store.reserve_staging(KEY, *SOURCE, "sub-1", now=NOW)
    again = store.reserve_staging(KEY, *SOURCE, "sub-2", now=NOW)
    assert (first, again) == ("sub-1", "sub-1")
    staging = store.load_lifecycle().stagings[KEY]
    assert staging.status == "submitting"
    assert staging.submission_id == "sub-1"
    store.record_staging(KEY, "submitted", task_id="task-1", now=NOW)
    assert store.reserve_staging(KEY, *SOURCE, "sub-3", now=NOW) == "sub-1"
    assert store.load_lifecycle().stagings[KEY].task_id == "task-1"


def test_a_new_source_or_a_failure_takes_a_new_submission(store: SqlStateStore) -> None:
    store.reserve_staging(KEY, *SOURCE, "sub-1", now=NOW)
    assert store.reserve_staging(KEY, SOURCE[0], "/datasets/run43/", "sub-2", now=NOW) == "sub-2"
    retry_at = NOW + timedelta(minutes=2)
    store.record_staging(KEY, "failed", error="no access", next_attempt=retry_at, now=NOW)
    failed = store.load_lifecycle().stagings[KEY]
    assert (failed.status, failed.attempts, failed.error) == ("failed", 1, "no access")
    assert failed.next_attempt == retry_at
    assert store.reserve_staging(KEY, SOURCE[0], "/datasets/run43/", "sub-3", now=NOW) == "sub-3"
    retried = store.load_lifecycle().stagings[KEY]
    # The failure count carries over, so backoff keeps growing; the error is cleared.
    assert (retried.status, retried.attempts, retried.error) == ("submitting", 1, None)
    assert retried.next_attempt is None


def test_concurrent_reservations_agree_on_one_submission(
    open_twin: Callable[[], SqlStateStore],
) -> None:
    """Two processes (here: two stores on the same database, in threads) race to
    reserve the same staging: both get the same submission id."""
    stores = [open_twin() for _ in range(4)]
    results: list[str] = []
    barrier = threading.Barrier(len(stores))

    def reserve(index: int) -> None:
        barrier.wait()
        for round_ in range(10):
            key: RuleKey = (C, "identity", f"user{round_}", f"/disthome/u{round_}/")
            results.append(
                f"{round_}:{stores[index].reserve_staging(key, *SOURCE, f'sub-{index}', now=NOW)}"
            )

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_round: dict[str, set[str]] = {}
    for item in results:
        round_, submission = item.split(":")
        by_round.setdefault(round_, set()).add(submission)
    assert len(by_round) == 10
    assert all(len(ids) == 1 for ids in by_round.values()), by_round


def test_consumed_grants_are_remembered_once(store: SqlStateStore) -> None:
    store.record_consumed(KEY, now=NOW)
    store.record_consumed(KEY, now=NOW + timedelta(hours=1))
    assert store.load_lifecycle().consumed == frozenset({KEY})


def test_download_progress_accumulates(store: SqlStateStore) -> None:
    assert store.downloaded_files(KEY) == set()
    store.add_downloaded_files(KEY, ["a.dat", "b.dat"])
    store.add_downloaded_files(KEY, ["b.dat", "c.dat"])
    store.add_downloaded_files(KEY, [])
    assert store.downloaded_files(KEY) == {"a.dat", "b.dat", "c.dat"}
    assert store.downloaded_files(OTHER) == set()
    assert not store.seen_download_task("t1")
    store.mark_download_task(C, "t1")
    store.mark_download_task(C, "t1")
    assert store.seen_download_task("t1")


def test_watermarks_move(store: SqlStateStore) -> None:
    assert store.download_watermark(C) is None
    store.set_download_watermark(C, NOW)
    assert store.download_watermark(C) == NOW
    later = NOW + timedelta(seconds=30, microseconds=5)
    store.set_download_watermark(C, later)
    assert store.download_watermark(C) == later
    assert store.download_watermark("other") is None


def test_the_directory_inventory(store: SqlStateStore) -> None:
    assert store.reserve_directory(C, "/disthome/alice/", now=NOW) is True
    assert store.reserve_directory(C, "/disthome/alice/", now=NOW) is False  # interrupted before
    assert store.reserve_directory(C, "/disthome/bob/", now=NOW) is True
    store.release_directory(C, "/disthome/bob/")
    lifecycle = store.load_lifecycle()
    assert lifecycle.pending_directories == {(C, "/disthome/alice/")}
    store.record_made_directory(C, "/disthome/alice/", now=NOW)
    lifecycle = store.load_lifecycle()
    assert lifecycle.made_directories == {(C, "/disthome/alice/")}
    assert lifecycle.pending_directories == frozenset()
    store.forget_directory(C, "/disthome/alice/")
    assert store.load_lifecycle().cleanable_directories == frozenset()


def test_a_removal_forgets_what_was_staged_and_downloaded_below_it(store: SqlStateStore) -> None:
    below: RuleKey = (C, "identity", "alice-id", "/disthome/run42/alice/")
    beside: RuleKey = (C, "identity", "bob-id", "/disthome/run43/bob/")
    upper_case: RuleKey = (C, "identity", "carol-id", "/disthome/RUN42/carol/")
    elsewhere: RuleKey = ("other-collection", "identity", "dan-id", "/disthome/run42/dan/")
    for key in (below, beside, upper_case, elsewhere):
        store.reserve_staging(key, *SOURCE, f"sub-{key[2]}", now=NOW)
        store.add_downloaded_files(key, ["f"])
    store.record_made_directory(C, "/disthome/run42/", now=NOW)

    store.record_removal(C, ["/disthome/run42/"], "delete-1", now=NOW)

    stagings = store.load_lifecycle().stagings
    assert below not in stagings
    assert {beside, upper_case, elsewhere} <= set(stagings)  # paths are case-sensitive
    assert store.downloaded_files(below) == set()
    assert store.downloaded_files(upper_case) == {"f"}
    assert store.pending_removals() == [(C, "/disthome/run42/", "delete-1")]
    lifecycle = store.load_lifecycle()
    assert lifecycle.removing_directories == {(C, "/disthome/run42/")}
    assert lifecycle.made_directories == {(C, "/disthome/run42/")}  # until the task succeeds

    store.record_removal(C, ["/disthome/run42/"], "delete-2", now=NOW)  # a retry
    assert store.pending_removals() == [(C, "/disthome/run42/", "delete-2")]


def test_a_finished_removal(store: SqlStateStore) -> None:
    for path in ("/disthome/a/", "/disthome/b/"):
        store.record_made_directory(C, path, now=NOW)
    store.record_removal(C, ["/disthome/a/", "/disthome/b/"], "delete-1", now=NOW)
    store.finish_removal(C, "/disthome/a/", succeeded=True)
    store.finish_removal(C, "/disthome/b/", succeeded=False)
    lifecycle = store.load_lifecycle()
    assert lifecycle.removing_directories == frozenset()
    assert lifecycle.made_directories == {(C, "/disthome/b/")}  # still ours to clean up


def test_writes_are_seen_by_another_process(open_twin: Callable[[], SqlStateStore]) -> None:
    writer, reader = open_twin(), open_twin()
    writer.record_consumed(KEY, now=NOW)
    writer.reserve_staging(OTHER, *SOURCE, "sub-1", now=NOW)
    assert reader.load_lifecycle().consumed == {KEY}
    assert reader.reserve_staging(OTHER, *SOURCE, "sub-2", now=NOW) == "sub-1"


def test_member_refusals_are_remembered_and_forgotten(store: SqlStateStore) -> None:
    store.record_member_refusal("group-1", "alice-id", "opted out", now=NOW)
    later = NOW + timedelta(hours=1)
    store.record_member_refusal("group-1", "alice-id", "still opted out", now=later)
    store.record_member_refusal("group-1", "bob-id", "opted out", now=NOW)
    refusals = store.load_lifecycle().member_refusals
    assert set(refusals) == {("group-1", "alice-id"), ("group-1", "bob-id")}
    assert (refusals["group-1", "alice-id"].detail, refusals["group-1", "alice-id"].at) == (
        "still opted out",
        later,
    )
    store.forget_member_refusal("group-1", "alice-id")
    assert set(store.load_lifecycle().member_refusals) == {("group-1", "bob-id")}


def test_scheduled_removals_keep_their_date_and_go_with_the_directory(
    store: SqlStateStore,
) -> None:
    """Issue 11: a pruned grant's directory waits out its grace; a schedule's date is
    never brought forward (only a lengthened grace moves it, later), and a successful
    delete task forgets it and every one below it."""
    due = NOW + timedelta(days=7)
    store.schedule_removal(
        ScheduledRemoval(C, "/disthome/a/", due, "identity", "alice-id", "alice@example.org"),
        now=NOW,
    )
    later = NOW + timedelta(hours=1)
    store.schedule_removal(ScheduledRemoval(C, "/disthome/a/", due - timedelta(days=1)), now=later)
    store.schedule_removal(ScheduledRemoval(C, "/disthome/a/b/", due), now=NOW)
    store.schedule_removal(ScheduledRemoval(C, "/disthome/ab/", due), now=NOW)
    lifecycle = store.load_lifecycle()
    assert lifecycle.durable
    first = lifecycle.scheduled_removals[C, "/disthome/a/"]
    assert (first.due, first.principal_label) == (due, "alice@example.org")
    assert first.scheduled_at == NOW
    # A later date (the grace was lengthened) is taken; whose it is and since when stay.
    store.schedule_removal(ScheduledRemoval(C, "/disthome/a/", due + timedelta(days=1)), now=later)
    first = store.load_lifecycle().scheduled_removals[C, "/disthome/a/"]
    assert (first.due, first.principal_label) == (due + timedelta(days=1), "alice@example.org")
    assert first.scheduled_at == NOW

    store.cancel_removal(C, "/disthome/ab/")
    store.record_removal(C, ["/disthome/a/"], "delete-1", now=due)
    store.finish_removal(C, "/disthome/a/", succeeded=False)  # still there: still waiting
    assert set(store.load_lifecycle().scheduled_removals) == {
        (C, "/disthome/a/"),
        (C, "/disthome/a/b/"),
    }
    store.finish_removal(C, "/disthome/a/", succeeded=True)
    assert store.load_lifecycle().scheduled_removals == {}


def test_the_spec_inventory_is_replaced_whole(store: SqlStateStore) -> None:
    assert store.load_spec_inventory() == {}
    store.record_spec_inventory({"tutorial.yaml": 3, "team/a.yaml": 0}, now=NOW)
    assert store.load_spec_inventory() == {"team/a.yaml": 0, "tutorial.yaml": 3}
    store.record_spec_inventory({"tutorial.yaml": 2}, now=NOW)
    assert store.load_spec_inventory() == {"tutorial.yaml": 2}
    store.record_spec_inventory({}, now=NOW)
    assert store.load_spec_inventory() == {}
