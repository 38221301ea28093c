"""Transfer file operations on the virtual tree: mkdir, ls, stat."""

from __future__ import annotations

import uuid

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set


@pytest.fixture
def collection(sandbox) -> str:
    return sandbox.add_managed_collection()


def test_mkdir_creates_one_level(sandbox, transfer_client, collection) -> None:
    done = transfer_client.operation_mkdir(collection, "/disthome/run42/")
    fixture = get_response_set(globus_sdk.TransferClient.operation_mkdir).lookup("default").json
    assert set(done.data) == set(fixture)
    assert (done["DATA_TYPE"], done["code"]) == ("mkdir_result", "DirectoryCreated")

    with pytest.raises(globus_sdk.TransferAPIError) as missing:
        transfer_client.operation_mkdir(collection, "/disthome/a/b")
    assert (missing.value.http_status, missing.value.code) == (404, "ClientError.NotFound")


def test_mkdir_existing_is_502_and_not_retried(sandbox, transfer_client, collection) -> None:
    mark = sandbox.control.clear_request_log()
    with pytest.raises(globus_sdk.TransferAPIError) as exists:
        transfer_client.operation_mkdir(collection, "/disthome")
    assert (exists.value.http_status, exists.value.code) == (
        502,
        "ExternalError.MkdirFailed.Exists",
    )
    calls = [
        e
        for e in sandbox.control.request_log(since=mark)["entries"]
        if e["path"].endswith("/mkdir")
    ]
    assert len(calls) == 1


def test_ls_and_stat(sandbox, transfer_client, collection) -> None:
    sandbox.control.add_files(
        collection,
        [
            {"path": "/disthome/run42/a.dat", "size": 10, "checksum": "abc"},
            "/disthome/run42/b/c.dat",
        ],
    )
    listing = transfer_client.operation_ls(collection, path="/disthome/run42/")
    assert listing["DATA_TYPE"] == "file_list"
    assert [(f["name"], f["type"], f["size"]) for f in listing["DATA"]] == [
        ("a.dat", "file", 10),
        ("b", "dir", 0),
    ]
    stat = transfer_client.operation_stat(collection, "/disthome/run42/a.dat")
    fixture = get_response_set(globus_sdk.TransferClient.operation_stat).lookup("default").json
    assert set(fixture) <= set(stat.data)
    assert (stat["name"], stat["type"], stat["size"]) == ("a.dat", "file", 10)

    with pytest.raises(globus_sdk.TransferAPIError) as missing:
        transfer_client.operation_stat(collection, "/disthome/nope")
    assert (missing.value.http_status, missing.value.code) == (404, "NotFound")
    with pytest.raises(globus_sdk.TransferAPIError) as missing_dir:
        transfer_client.operation_ls(collection, path="/disthome/nope/")
    assert (missing_dir.value.http_status, missing_dir.value.code) == (404, "ClientError.NotFound")


def test_file_ops_need_data_access(sandbox, app_factory) -> None:
    collection = sandbox.add_managed_collection(roles=("activity_monitor",))
    with globus_sdk.TransferClient(app=app_factory()) as transfer:
        with pytest.raises(globus_sdk.TransferAPIError) as denied:
            transfer.operation_mkdir(collection, "/disthome/x")
        assert (denied.value.http_status, denied.value.code) == (403, "EndpointPermissionDenied")
        with pytest.raises(globus_sdk.TransferAPIError) as unknown:
            transfer.operation_ls(str(uuid.uuid4()))
        assert (unknown.value.http_status, unknown.value.code) == (404, "EndpointNotFound")


def test_ls_without_a_path_lists_the_default_directory(transfer_client, collection) -> None:
    listing = transfer_client.operation_ls(collection)
    assert (listing["path"], listing["absolute_path"]) == ("/~/", "/")
    assert [entry["name"] for entry in listing] == ["disthome"]
