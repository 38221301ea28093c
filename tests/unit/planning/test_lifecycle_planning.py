"""Planning with lifecycle facts: staging gates rule creation, failed staging waits for
its retry, directories the store remembers are known and cleaned up."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from reconciler.core.actions import CreateRule, RemoveDirectory, StageData
from reconciler.core.intent import StageSource
from reconciler.core.lifecycle import Lifecycle, Staging
from reconciler.planning import compute_plan
from tests.unit.planning.builders import ADMIN_ROLE, ALICE, COLL, NOW, grant, intent, live, rule

SOURCE = StageSource("0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11", "/datasets/run42/")
PATH = f"/disthome/{ALICE}/"
KEY = (COLL, "identity", ALICE, PATH)


def staged_grant(**kwargs: object) -> object:
    return replace(grant(**kwargs), stage=SOURCE)  # type: ignore[arg-type]


def staging(status: str, **kwargs: object) -> Staging:
    return Staging(KEY, SOURCE.collection_id, SOURCE.path, status, **kwargs)  # type: ignore[arg-type]


def test_a_staged_grant_is_staged_before_any_rule() -> None:
    plan = compute_plan(intent((staged_grant(),)), live(), now=NOW)  # type: ignore[arg-type]
    assert [a.kind for a in plan.actions] == ["make_directory", "stage_data"]
    stage = plan.actions[1]
    assert isinstance(stage, StageData)
    assert (stage.source_collection_id, stage.source_path, stage.path) == (
        SOURCE.collection_id,
        SOURCE.path,
        PATH,
    )
    assert plan.next_check == NOW + timedelta(seconds=10)


def test_staging_in_flight_waits_and_success_grants() -> None:
    waiting = Lifecycle(stagings={KEY: staging("submitted", task_id="t1")})
    plan = compute_plan(intent((staged_grant(),)), live(), now=NOW, lifecycle=waiting)  # type: ignore[arg-type]
    assert plan.actions == ()
    assert any("waiting for staging task t1" in n for n in plan.notes)
    done = Lifecycle(
        stagings={KEY: staging("succeeded", task_id="t1")},
        made_directories=frozenset({(COLL, PATH)}),
    )
    plan = compute_plan(intent((staged_grant(),)), live(), now=NOW, lifecycle=done)  # type: ignore[arg-type]
    assert [a.kind for a in plan.actions] == ["create_rule"]  # the directory is known
    assert isinstance(plan.actions[0], CreateRule)


def test_failed_staging_waits_for_its_retry_then_stages_again() -> None:
    retry_at = NOW + timedelta(minutes=2)
    failed = Lifecycle(
        stagings={KEY: staging("failed", attempts=1, next_attempt=retry_at, error="boom")}
    )
    plan = compute_plan(intent((staged_grant(),)), live(), now=NOW, lifecycle=failed)  # type: ignore[arg-type]
    assert plan.actions == ()
    assert plan.next_check == retry_at
    assert any("failed (boom)" in n and "attempt 2" in n for n in plan.notes)
    later = compute_plan(intent((staged_grant(),)), live(), now=retry_at, lifecycle=failed)  # type: ignore[arg-type]
    assert [a.kind for a in later.actions] == ["make_directory", "stage_data"]


def test_a_changed_source_stages_again() -> None:
    other = Lifecycle(
        stagings={KEY: Staging(KEY, SOURCE.collection_id, "/datasets/old/", "succeeded")}
    )
    plan = compute_plan(intent((staged_grant(),)), live(), now=NOW, lifecycle=other)  # type: ignore[arg-type]
    assert "stage_data" in [a.kind for a in plan.actions]


def test_a_live_rule_needs_no_staging_facts() -> None:
    existing = rule(ALICE, PATH, expires=NOW + timedelta(days=30))
    plan = compute_plan(intent((staged_grant(),)), live((ADMIN_ROLE, existing)), now=NOW)  # type: ignore[arg-type]
    assert plan.actions == ()


def test_directory_of_a_rule_globus_already_dropped_is_cleaned_from_the_store() -> None:
    made = Lifecycle(made_directories=frozenset({(COLL, PATH)}))
    expired = grant(days=-1)
    plan = compute_plan(intent((expired,)), live(), now=NOW, lifecycle=made)
    (removal,) = plan.actions
    assert isinstance(removal, RemoveDirectory)
    assert removal.path == PATH
    assert not removal.pruned
    # without the store's memory, nothing is known and nothing is removed
    assert compute_plan(intent((expired,)), live(), now=NOW).actions == ()


def test_revoke_after_download_grants_ask_to_be_checked_again() -> None:
    watched = replace(grant(), revoke_after_download=True)
    existing = rule(ALICE, PATH, expires=NOW + timedelta(days=30))
    plan = compute_plan(intent((watched,)), live((ADMIN_ROLE, existing)), now=NOW)
    assert plan.actions == ()
    assert plan.next_check == NOW + timedelta(seconds=30)


def test_creating_a_revoke_after_download_rule_schedules_the_first_download_check() -> None:
    watched = replace(grant(), revoke_after_download=True)
    plan = compute_plan(intent((watched,)), live(), now=NOW)
    assert "create_rule" in [a.kind for a in plan.actions]
    assert plan.next_check == NOW + timedelta(seconds=30)
