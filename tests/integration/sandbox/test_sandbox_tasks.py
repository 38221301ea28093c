"""Transfer tasks: submission, progress on sandbox time, effects, idempotency, queueing,
the caller's task list and activity monitoring (endpoint_manager)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

FILES = [
    {"path": "/datasets/run42/README.txt", "size": 100, "checksum": "c1"},
    {"path": "/datasets/run42/data/part-1.dat", "size": 2000, "checksum": "c2"},
    {"path": "/datasets/run42/data/part-2.dat", "size": 3000, "checksum": "c3"},
]


def _fixture(method) -> dict:
    return get_response_set(method).lookup("default").json


@pytest.fixture
def guest(sandbox) -> str:
    return sandbox.add_managed_collection(display_name="guest")


@pytest.fixture
def source(sandbox) -> str:
    collection = sandbox.add_managed_collection(root="/datasets/", display_name="source")
    sandbox.control.add_files(collection, FILES)
    return collection


def _stage(source: str, guest: str, **kwargs: object) -> globus_sdk.TransferData:
    data = globus_sdk.TransferData(
        source, guest, label="stage run42", sync_level="checksum", verify_checksum=True, **kwargs
    )
    data.add_item("/datasets/run42/", "/disthome/run42/", recursive=True)
    return data


def test_submission_id_shape(transfer_client) -> None:
    got = transfer_client.get_submission_id()
    # The SDK's capture keeps only `value`; Transfer's documents carry their DATA_TYPE.
    assert set(got.data) == set(_fixture(globus_sdk.TransferClient.get_submission_id)) | {
        "DATA_TYPE"
    }
    assert got["DATA_TYPE"] == "submission_id"
    uuid.UUID(got["value"])


def test_transfer_copies_the_tree_after_the_task_time(
    sandbox, transfer_client, source, guest
) -> None:
    result = transfer_client.submit_transfer(_stage(source, guest))
    assert set(_fixture(globus_sdk.TransferClient.submit_transfer)) <= set(result.data)
    assert (result["DATA_TYPE"], result["code"]) == ("transfer_result", "Accepted")
    task = transfer_client.get_task(result["task_id"])
    assert (task["status"], task["completion_time"]) == ("ACTIVE", None)
    with pytest.raises(globus_sdk.TransferAPIError):
        transfer_client.operation_stat(guest, "/disthome/run42/data/part-1.dat")

    sandbox.control.advance_clock(5)
    task = transfer_client.get_task(result["task_id"])
    assert task["status"] == "SUCCEEDED"
    assert (task["files"], task["files_transferred"], task["bytes_transferred"]) == (3, 3, 5100)
    assert task["completion_time"] is not None
    stat = transfer_client.operation_stat(guest, "/disthome/run42/data/part-2.dat")
    assert stat["size"] == 3000
    copied = {row["checksum"] for row in _tree(sandbox, guest) if row["type"] == "file"}
    assert copied == {"c1", "c2", "c3"}

    again = transfer_client.submit_transfer(_stage(source, guest))
    sandbox.control.advance_clock(5)
    second = transfer_client.get_task(again["task_id"])
    assert (second["files_transferred"], second["files_skipped"]) == (0, 3)  # checksum sync


def _tree(sandbox, collection: str) -> list[dict]:
    dump = sandbox.control.dump()
    return next(c["tree"] for c in dump["collections"] if c["id"] == collection)


def test_missing_source_fails(sandbox, transfer_client, source, guest) -> None:
    data = globus_sdk.TransferData(source, guest)
    data.add_item("/datasets/nope/", "/disthome/nope/", recursive=True)
    task_id = transfer_client.submit_transfer(data)["task_id"]
    sandbox.control.advance_clock(5)
    task = transfer_client.get_task(task_id)
    assert task["status"] == "FAILED"
    assert task["fatal_error"]["code"] == "FILE_NOT_FOUND"
    assert not any(row["path"].startswith("/disthome/nope") for row in _tree(sandbox, guest))


def test_resubmitting_a_submission_id_runs_once(sandbox, transfer_client, guest) -> None:
    sandbox.control.add_files(guest, ["/disthome/old/a.dat"])
    submission_id = transfer_client.get_submission_id()["value"]
    delete = globus_sdk.DeleteData(guest, recursive=True, submission_id=submission_id)
    delete.add_item("/disthome/old/")
    first = transfer_client.submit_delete(delete)
    second = transfer_client.submit_delete(delete)
    assert set(_fixture(globus_sdk.TransferClient.submit_delete)) <= set(first.data)
    assert (first.http_status, first["code"]) == (202, "Accepted")
    assert (second.http_status, second["code"]) == (200, "Duplicate")
    assert first["task_id"] == second["task_id"]
    assert transfer_client.task_list()["total"] == 1
    sandbox.control.advance_clock(5)
    assert transfer_client.get_task(first["task_id"])["status"] == "SUCCEEDED"
    assert not any(row["path"].startswith("/disthome/old") for row in _tree(sandbox, guest))


def test_three_tasks_per_kind_run_at_once(sandbox, transfer_client, guest) -> None:
    task_ids = []
    for index in range(4):
        sandbox.control.add_files(guest, [f"/disthome/d{index}/f.dat"])
        delete = globus_sdk.DeleteData(guest, recursive=True)
        delete.add_item(f"/disthome/d{index}/")
        task_ids.append(transfer_client.submit_delete(delete)["task_id"])
    tasks = [transfer_client.get_task(task_id) for task_id in task_ids]
    assert [t["status"] for t in tasks] == ["ACTIVE"] * 4
    assert [t["nice_status"] for t in tasks] == ["OK", "OK", "OK", "Queued"]
    sandbox.control.advance_clock(2.5)
    assert [transfer_client.get_task(t)["status"] for t in task_ids] == ["SUCCEEDED"] * 3 + [
        "ACTIVE"
    ]
    sandbox.control.advance_clock(2.5)
    assert transfer_client.get_task(task_ids[3])["status"] == "SUCCEEDED"


def test_task_list_shape_and_filter(sandbox, transfer_client, guest) -> None:
    sandbox.control.add_files(guest, ["/disthome/x/a.dat"])
    delete = globus_sdk.DeleteData(guest, recursive=True)
    delete.add_item("/disthome/x/")
    task_id = transfer_client.submit_delete(delete)["task_id"]
    listing = transfer_client.task_list(filter="type:DELETE/status:ACTIVE")
    fixture = _fixture(globus_sdk.TransferClient.task_list)
    assert set(fixture) == set(listing.data)
    assert set(fixture["DATA"][0]) <= set(listing["DATA"][0])
    assert [t["task_id"] for t in listing["DATA"]] == [task_id]
    assert transfer_client.task_list(filter="status:SUCCEEDED")["DATA"] == []


@pytest.fixture
def downloads(sandbox, source) -> dict[str, str]:
    """Three SUCCEEDED downloads from ``source``: alice twice (one partial), bob once."""
    control = sandbox.control
    return {
        "alice": control.simulate_download("alice@example.org", source, "/datasets/run42/")[
            "task_id"
        ],
        "bob": control.simulate_download("bob@example.org", source, "/datasets/run42/data/")[
            "task_id"
        ],
        "alice-partial": control.simulate_download(
            "alice@example.org", source, "/datasets/run42/", count=1
        )["task_id"],
    }


def test_endpoint_manager_task_list_filters(sandbox, transfer_client, source, downloads) -> None:
    alice = sandbox.control.add_identity("alice@example.org")["id"]
    page = transfer_client.endpoint_manager_task_list(
        filter_endpoint=source,
        filter_endpoint_use="source",
        filter_status="SUCCEEDED",
        filter_owner_id=alice,
    )
    fixture = _fixture(globus_sdk.TransferClient.endpoint_manager_task_list)
    assert set(fixture) == set(page.data)
    assert set(fixture["DATA"][0]) <= set(page["DATA"][0])
    assert {t["task_id"] for t in page["DATA"]} == {downloads["alice"], downloads["alice-partial"]}
    assert {t["files_transferred"] for t in page["DATA"]} == {3, 1}
    assert page["has_next_page"] is False

    later = datetime.fromtimestamp(sandbox.control.clock()["now_epoch"] + 3600, UTC)
    assert (
        transfer_client.endpoint_manager_task_list(
            filter_endpoint=source, filter_completion_time=(later, "")
        )["DATA"]
        == []
    )
    as_destination = transfer_client.endpoint_manager_task_list(
        filter_endpoint=source, filter_endpoint_use="destination"
    )
    assert as_destination["DATA"] == []
    by_id = transfer_client.endpoint_manager_task_list(filter_task_id=downloads["bob"])
    assert [t["owner_string"] for t in by_id["DATA"]] == ["bob@example.org"]


def test_endpoint_manager_paging(transfer_client, source, downloads) -> None:
    seen = [
        task["task_id"]
        for page in transfer_client.paginated.endpoint_manager_task_list(
            filter_endpoint=source, query_params={"limit": 1}
        )
        for task in page
    ]
    assert sorted(seen) == sorted(downloads.values())


def test_endpoint_manager_rules(sandbox, transfer_client, app_factory, source, downloads) -> None:
    with pytest.raises(globus_sdk.TransferAPIError) as mixed:
        transfer_client.endpoint_manager_task_list(
            filter_task_id=downloads["bob"], filter_status="SUCCEEDED"
        )
    assert mixed.value.http_status == 400
    with globus_sdk.TransferClient(app=app_factory(str(uuid.uuid4()))) as stranger:
        for call in (
            lambda: stranger.endpoint_manager_task_list(filter_endpoint=source),
            lambda: stranger.endpoint_manager_task_successful_transfers(downloads["bob"]),
        ):
            with pytest.raises(globus_sdk.TransferAPIError) as denied:
                call()
            assert (denied.value.http_status, denied.value.code) == (403, "PermissionDenied")


def test_successful_transfers_paging(sandbox, transfer_client, downloads) -> None:
    first = transfer_client.endpoint_manager_task_successful_transfers(
        downloads["alice"], query_params={"limit": 2}
    )
    assert first["DATA_TYPE"] == "successful_transfers"
    assert first["next_marker"] is not None
    fixture = _fixture(globus_sdk.TransferClient.endpoint_manager_task_successful_transfers)
    assert set(fixture["DATA"][0]) <= set(first["DATA"][0])
    rows = [
        row
        for page in transfer_client.paginated.endpoint_manager_task_successful_transfers(
            downloads["alice"], query_params={"limit": 2}
        )
        for row in page
    ]
    assert [row["source_path"] for row in rows] == sorted(f["path"] for f in FILES)
    assert all(row["DATA_TYPE"] == "successful_transfer" for row in rows)
    partial = transfer_client.endpoint_manager_task_successful_transfers(downloads["alice-partial"])
    assert len(partial["DATA"]) == 1
    assert partial["next_marker"] is None


def test_owner_and_manager_views_of_one_task(sandbox, transfer_client, source, guest) -> None:
    task_id = transfer_client.submit_transfer(_stage(source, guest))["task_id"]
    sandbox.control.advance_clock(5)
    own = [row["destination_path"] for row in transfer_client.task_successful_transfers(task_id)]
    assert own == sorted(
        "/disthome/run42/" + f["path"].removeprefix("/datasets/run42/") for f in FILES
    )
    managed = transfer_client.endpoint_manager_get_task(task_id).data
    own = transfer_client.get_task(task_id).data
    assert {key: managed[key] for key in own} == own
    # The owner's view, as captured, has none of the endpoint-manager fields.
    assert set(managed) - set(own) >= {"DATA_TYPE", "owner_string", "source_host_path"}


def test_per_file_history_is_kept_30_days(sandbox, transfer_client, downloads) -> None:
    task_id = downloads["bob"]
    assert transfer_client.endpoint_manager_task_successful_transfers(task_id)["DATA"]
    sandbox.control.advance_clock(31 * 86400)
    assert transfer_client.endpoint_manager_get_task(task_id)["history_deleted"] is True
    assert transfer_client.endpoint_manager_task_successful_transfers(task_id)["DATA"] == []


def test_completion_time_filter_takes_whole_seconds_only(
    sandbox, transfer_client, source, downloads
) -> None:
    hour_ago = datetime.fromtimestamp(sandbox.control.clock()["now_epoch"] - 3600, UTC)
    whole = hour_ago.strftime("%Y-%m-%dT%H:%M:%S")
    found = transfer_client.endpoint_manager_task_list(
        filter_endpoint=source, filter_completion_time=f"{whole},"
    )
    assert {t["task_id"] for t in found["DATA"]} == set(downloads.values())
    with_zone = transfer_client.endpoint_manager_task_list(
        filter_endpoint=source, filter_completion_time=f"{whole}Z,"
    )
    assert len(with_zone["DATA"]) == 3
    # The SDK itself formats datetimes to whole seconds (isoformat(timespec="seconds")).
    as_tuple = transfer_client.endpoint_manager_task_list(
        filter_endpoint=source, filter_completion_time=(hour_ago.replace(microsecond=250000), "")
    )
    assert len(as_tuple["DATA"]) == 3
    with pytest.raises(globus_sdk.TransferAPIError) as refused:
        transfer_client.endpoint_manager_task_list(
            filter_endpoint=source, filter_completion_time=f"{whole}.250000,"
        )
    assert (refused.value.http_status, refused.value.code) == (400, "ClientError.BadRequest")
    assert "fractional" in refused.value.message


def test_owner_filter_matches_the_whole_identity_set(sandbox, transfer_client, source) -> None:
    alice = sandbox.control.add_identity("alice@example.org")["id"]
    orcid = sandbox.control.add_identity("alice@orcid.org", linked_to="alice@example.org")["id"]
    by_link = sandbox.control.simulate_download("alice@orcid.org", source, "/datasets/run42/")
    assert by_link["owner_id"] == orcid
    for asked in (alice, orcid):
        page = transfer_client.endpoint_manager_task_list(
            filter_endpoint=source, filter_status="SUCCEEDED", filter_owner_id=asked
        )
        assert [t["task_id"] for t in page["DATA"]] == [by_link["task_id"]]
    with pytest.raises(globus_sdk.TransferAPIError) as unknown:
        transfer_client.endpoint_manager_task_list(
            filter_endpoint=source, filter_owner_id=str(uuid.uuid4())
        )
    assert unknown.value.code == "UserNotFound"


def test_task_documents_while_active_and_done(sandbox, transfer_client, source, guest) -> None:
    task_id = transfer_client.submit_transfer(_stage(source, guest))["task_id"]
    running = transfer_client.endpoint_manager_get_task(task_id)
    assert running["status"] == "ACTIVE"
    assert running["key"].startswith("active,")
    assert (
        running["nice_status"],
        running["nice_status_short_description"],
        running["nice_status_expires_in"],
    ) == ("OK", "OK", -1)
    own = transfer_client.get_task(task_id)  # the owner's view, which the reconciler reads
    assert (own["key"], own["nice_status_short_description"]) == (running["key"], "OK")
    hosts = {c: transfer_client.get_endpoint(c)["host_endpoint_id"] for c in (source, guest)}
    assert running["source_host_endpoint_id"] == hosts[source]
    assert running["destination_host_endpoint_id"] == hosts[guest]
    assert running["source_host_path"] == f"/gcs/guests/{source}/"
    sandbox.control.advance_clock(5)
    done = transfer_client.endpoint_manager_get_task(task_id)
    assert done["status"] == "SUCCEEDED"
    assert done["key"].startswith("complete,")
    assert (done["nice_status"], done["nice_status_expires_in"]) == (None, None)


def test_successful_transfers_in_the_host_namespace(sandbox, transfer_client, downloads) -> None:
    sandbox.control.update_settings(transfer_paths="host")
    task = transfer_client.endpoint_manager_get_task(downloads["bob"])
    rows = transfer_client.endpoint_manager_task_successful_transfers(downloads["bob"])["DATA"]
    prefix = task["source_host_path"].rstrip("/")
    assert [row["source_path"] for row in rows] == [
        prefix + f["path"] for f in FILES if f["path"].startswith("/datasets/run42/data/")
    ]
    assert all(not row["destination_path"].startswith(prefix) for row in rows)
