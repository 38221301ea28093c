"""GCSv5 mapped collections in the sandbox: their endpoint documents, the data_access
consent a transfer from a non-high-assurance one needs (answered as Transfer answers
it, per globus-cli's fixtures), and identities without a mapping."""

from __future__ import annotations

import uuid

import globus_sdk
import pytest

MAPPED = "GCSv5_mapped_collection"
FILES = [{"path": "/projects/run42/a.dat", "size": 10}, {"path": "/projects/run42/b.dat"}]

# globus-cli, tests/functional/test_auth_requirements_errors (a `globus ls` on a mapped
# collection without consent): the body Transfer answers with.
CLI_FIXTURE_KEYS = {
    "authorization_parameters",
    "code",
    "message",
    "request_id",
    "required_scopes",
    "resource",
}


def _mapped(sandbox, **kwargs: object) -> str:
    collection = str(uuid.uuid4())
    sandbox.control.add_client(sandbox.client_id)
    sandbox.control.add_collection(collection, roots=["/projects/"], entity_type=MAPPED, **kwargs)
    sandbox.control.add_files(collection, FILES)
    return collection


def _copy(source: str, guest: str) -> globus_sdk.TransferData:
    data = globus_sdk.TransferData(source, guest, sync_level="checksum")
    data.add_item("/projects/run42/", "/disthome/run42/", recursive=True)
    return data


def test_endpoint_documents_say_what_kind_of_collection(sandbox, transfer_client) -> None:
    mapped, assured = _mapped(sandbox), _mapped(sandbox, high_assurance=True)
    guest = sandbox.add_managed_collection()
    docs = {c: transfer_client.get_endpoint(c) for c in (mapped, assured, guest)}
    assert [(d["entity_type"], d["high_assurance"]) for d in docs.values()] == [
        (MAPPED, False),
        (MAPPED, True),
        ("GCSv5_guest_collection", False),
    ]
    dumped = {c["id"]: c["entity_type"] for c in sandbox.control.dump()["collections"]}
    assert dumped[mapped] == MAPPED
    assert dumped[guest] == "GCSv5_guest_collection"


def test_a_copy_from_a_mapped_collection_needs_its_data_access_consent(
    sandbox, globus_app, transfer_client
) -> None:
    mapped, guest = _mapped(sandbox), sandbox.add_managed_collection()
    with pytest.raises(globus_sdk.TransferAPIError) as refused:
        transfer_client.submit_transfer(_copy(mapped, guest))
    err = refused.value
    assert (err.http_status, err.code) == (403, "ConsentRequired")
    assert set(err.raw_json) == CLI_FIXTURE_KEYS
    scope = (
        "urn:globus:auth:scope:transfer.api.globus.org:all"
        f"[*https://auth.globus.org/scopes/{mapped}/data_access]"
    )
    assert err.info.consent_required.required_scopes == [scope]  # how the SDK reads it
    assert err.raw_json["authorization_parameters"]["required_scopes"] == [scope]
    assert sandbox.control.dump()["tasks"] == []

    consenting = globus_sdk.TransferClient(app=globus_app).add_app_data_access_scope(mapped)
    # The app still holds a Transfer token without the dependency: drop it, as the
    # reconciler's scope-keyed cache does.
    globus_app.token_storage.remove_token_data("transfer.api.globus.org")
    task = consenting.submit_transfer(_copy(mapped, guest))
    sandbox.control.advance_clock(10)
    assert consenting.get_task(task["task_id"])["status"] == "SUCCEEDED"


def test_file_operations_on_a_mapped_collection_need_the_consent_too(
    sandbox, globus_app, transfer_client
) -> None:
    """globus-cli's captured case: `globus ls` on a mapped collection without consent."""
    mapped = _mapped(sandbox)
    with pytest.raises(globus_sdk.TransferAPIError) as refused:
        transfer_client.operation_ls(mapped, path="/projects/run42/")
    assert (refused.value.http_status, refused.value.code) == (403, "ConsentRequired")
    assert set(refused.value.raw_json) == CLI_FIXTURE_KEYS
    consenting = globus_sdk.TransferClient(app=globus_app).add_app_data_access_scope(mapped)
    globus_app.token_storage.remove_token_data("transfer.api.globus.org")
    names = [e["name"] for e in consenting.operation_ls(mapped, path="/projects/run42/")]
    assert names == ["a.dat", "b.dat"]


def test_high_assurance_mapped_collections_need_no_data_access_scope(
    sandbox, transfer_client
) -> None:
    assured, guest = _mapped(sandbox, high_assurance=True), sandbox.add_managed_collection()
    task = transfer_client.submit_transfer(_copy(assured, guest))
    sandbox.control.advance_clock(10)
    assert transfer_client.get_task(task["task_id"])["status"] == "SUCCEEDED"


def test_an_identity_with_no_local_account_fails_the_task(sandbox, globus_app) -> None:
    mapped = _mapped(sandbox, unmapped=[sandbox.client_id])
    guest = sandbox.add_managed_collection()
    transfer = globus_sdk.TransferClient(app=globus_app).add_app_data_access_scope(mapped)
    task = transfer.submit_transfer(_copy(mapped, guest))
    sandbox.control.advance_clock(10)
    done = transfer.get_task(task["task_id"])
    assert done["status"] == "FAILED"
    assert done["fatal_error"]["code"] == "PERMISSION_DENIED"
    assert "Identity mapping failed" in done["fatal_error"]["description"]
