"""Transfer access-rule conformance: shapes, codes, roles, limits and expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

ACCESS_KEYS = {
    "DATA_TYPE",
    "id",
    "principal_type",
    "principal",
    "path",
    "permissions",
    "create_time",
    "expiration_date",
    "role_id",
    "role_type",
}


@pytest.fixture
def collection(sandbox) -> str:
    return sandbox.add_managed_collection()


@pytest.fixture
def alice(sandbox) -> str:
    return str(sandbox.control.add_identity("alice@example.org")["id"])


def _rule(principal: str, path: str = "/disthome/run42/", **extra: object) -> dict[str, object]:
    return {
        "DATA_TYPE": "access",
        "principal_type": "identity",
        "principal": principal,
        "path": path,
        "permissions": "r",
        **extra,
    }


def _error(call, *args) -> globus_sdk.TransferAPIError:
    with pytest.raises(globus_sdk.TransferAPIError) as err:
        call(*args)
    return err.value


def test_rule_lifecycle_and_shapes(sandbox, transfer_client, collection, alice) -> None:
    created = transfer_client.add_endpoint_acl_rule(
        collection, _rule(alice, expiration_date="2030-01-01T00:00:00Z")
    )
    assert created.http_status == 201
    assert set(created.data) == {
        "DATA_TYPE", "code", "message", "access_id", "request_id", "resource",
    }  # fmt: skip
    assert (created["DATA_TYPE"], created["code"]) == ("access_create_result", "Created")
    rule_id = created["access_id"]

    listing = transfer_client.endpoint_acl_list(collection)
    assert {"DATA_TYPE", "endpoint", "length", "DATA"} <= set(listing.data)
    # the access_manager role (activity_monitor is not listed) and the rule
    assert listing["length"] == len(listing["DATA"]) == 2
    roles = [entry for entry in listing["DATA"] if entry["id"] is None]
    assert [(r["role_type"], r["principal"], r["path"], r["permissions"]) for r in roles] == [
        ("access_manager", sandbox.client_id, "/", "rw")
    ]
    assert all(set(entry) == ACCESS_KEYS for entry in listing["DATA"])

    fetched = transfer_client.get_endpoint_acl_rule(collection, rule_id)
    assert fetched["expiration_date"] == "2030-01-01T00:00:00+00:00"
    assert (fetched["role_id"], fetched["path"], fetched["permissions"]) == (
        None, "/disthome/run42/", "r",
    )  # fmt: skip

    updated = transfer_client.update_endpoint_acl_rule(
        collection,
        rule_id,
        {
            "DATA_TYPE": "access",
            "permissions": "rw",
            "expiration_date": "2031-06-01T12:00:00+00:00",
        },
    )
    assert (updated["DATA_TYPE"], updated["code"]) == ("result", "Updated")
    fetched = transfer_client.get_endpoint_acl_rule(collection, rule_id)
    assert (fetched["permissions"], fetched["expiration_date"]) == (
        "rw",
        "2031-06-01T12:00:00+00:00",
    )

    deleted = transfer_client.delete_endpoint_acl_rule(collection, rule_id)
    assert (deleted["DATA_TYPE"], deleted["code"]) == ("result", "Deleted")
    err = _error(transfer_client.delete_endpoint_acl_rule, collection, rule_id)
    assert (err.http_status, err.code) == (404, "AccessRuleNotFound")
    err = _error(transfer_client.get_endpoint_acl_rule, collection, rule_id)
    assert (err.http_status, err.code) == (404, "AccessRuleNotFound")


def test_same_principal_and_path_is_exists(transfer_client, collection, alice) -> None:
    transfer_client.add_endpoint_acl_rule(collection, _rule(alice))
    err = _error(transfer_client.add_endpoint_acl_rule, collection, _rule(alice))
    assert (err.http_status, err.code) == (409, "Exists")


@pytest.mark.parametrize(
    "path", ["disthome/x/", "/disthome/x", "/disthome//x/", "/disthome/../etc/", "/a/./b/", ""]
)
def test_malformed_paths_are_invalid(transfer_client, collection, alice, path) -> None:
    err = _error(transfer_client.add_endpoint_acl_rule, collection, _rule(alice, path))
    assert (err.http_status, err.code) == (400, "InvalidPath")


def test_unknown_collection_is_endpoint_not_found(transfer_client) -> None:
    err = _error(transfer_client.endpoint_acl_list, str(uuid.uuid4()))
    assert (err.http_status, err.code) == (404, "EndpointNotFound")


def test_caller_without_role_is_denied(sandbox, app_factory, collection, alice) -> None:
    stranger = str(uuid.uuid4())
    with globus_sdk.TransferClient(app=app_factory(stranger)) as transfer:
        for call, args in [
            (transfer.endpoint_acl_list, (collection,)),
            (transfer.add_endpoint_acl_rule, (collection, _rule(alice))),
        ]:
            err = _error(call, *args)
            assert (err.http_status, err.code) == (403, "PermissionDenied")
    # a role given to a group reaches its members
    group = sandbox.add_managed_group()
    sandbox.control.grant_role("member", stranger, group_id=group)
    sandbox.control.grant_role(
        "access_manager", group, collection_id=collection, principal_type="group"
    )
    with globus_sdk.TransferClient(app=app_factory(stranger)) as transfer:
        assert transfer.add_endpoint_acl_rule(collection, _rule(alice))["code"] == "Created"


def test_rule_limit_is_limit_exceeded(sandbox, transfer_client, collection, alice) -> None:
    sandbox.control.update_settings(max_rules_per_collection=2)
    transfer_client.add_endpoint_acl_rule(collection, _rule(alice, "/disthome/a/"))
    transfer_client.add_endpoint_acl_rule(collection, _rule(alice, "/disthome/b/"))
    err = _error(transfer_client.add_endpoint_acl_rule, collection, _rule(alice, "/disthome/c/"))
    assert (err.http_status, err.code) == (409, "LimitExceeded")


def test_public_and_group_principals(sandbox, transfer_client, collection) -> None:
    group = str(uuid.uuid4())
    transfer_client.add_endpoint_acl_rule(collection, {**_rule(group), "principal_type": "group"})
    transfer_client.add_endpoint_acl_rule(
        collection, {**_rule(""), "principal_type": "all_authenticated_users"}
    )
    kinds = {
        e["principal_type"]: e["principal"]
        for e in transfer_client.endpoint_acl_list(collection)["DATA"]
        if e["id"]
    }
    assert kinds == {"group": group, "all_authenticated_users": ""}


def test_notify_email_is_recorded(sandbox, transfer_client, collection, alice) -> None:
    transfer_client.add_endpoint_acl_rule(
        collection,
        _rule(alice, notify_email="alice@example.org", notify_message="Your data is ready"),
    )
    (sent,) = sandbox.control.notifications()
    assert (sent["email"], sent["message"], sent["principal"]) == (
        "alice@example.org", "Your data is ready", alice,
    )  # fmt: skip


def test_expired_rule_is_kept_but_inert_by_default(
    sandbox, transfer_client, app_factory, collection
) -> None:
    reader = str(uuid.uuid4())  # a second client: the rule's grantee, who can call the API
    sandbox.control.add_client(reader)
    sandbox.control.add_directories(collection, ["/disthome/run42"])
    soon = datetime.fromtimestamp(sandbox.control.clock()["now_epoch"] + 60, UTC).isoformat()
    rule_id = transfer_client.add_endpoint_acl_rule(
        collection, _rule(reader, expiration_date=soon)
    )["access_id"]
    with globus_sdk.TransferClient(app=app_factory(reader)) as as_reader:
        assert as_reader.operation_ls(collection, path="/disthome/run42/")["DATA"] == []
        sandbox.control.advance_clock(120)
        err = _error(as_reader.operation_ls, collection)
        assert (err.http_status, err.code) == (403, "EndpointPermissionDenied")
    listed = [e["id"] for e in transfer_client.endpoint_acl_list(collection)["DATA"]]
    assert rule_id in listed


def test_delete_expiry_mode_removes_rule(sandbox, transfer_client, collection, alice) -> None:
    sandbox.control.update_settings(expiry_mode="delete")
    transfer_client.add_endpoint_acl_rule(
        collection, _rule(alice, expiration_date="2020-01-01T00:00:00Z")
    )
    assert all(e["id"] is None for e in transfer_client.endpoint_acl_list(collection)["DATA"])


def test_get_endpoint_is_a_guest_collection(transfer_client, collection) -> None:
    doc = transfer_client.get_endpoint(collection)
    assert (doc["id"], doc["entity_type"]) == (collection, "GCSv5_guest_collection")
    assert doc["host_endpoint_id"]
    fixture = get_response_set(globus_sdk.TransferClient.get_endpoint).lookup("default").json
    assert set(fixture) <= set(doc.data)
