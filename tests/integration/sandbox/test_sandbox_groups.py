"""Groups conformance: get_group with memberships, my_groups, batch membership actions."""

from __future__ import annotations

import uuid

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

MEMBERSHIP_KEYS = {"group_id", "identity_id", "username", "role", "status", "updated"}


@pytest.fixture
def group(sandbox) -> str:
    return sandbox.add_managed_group(name="dot-omics")


@pytest.fixture
def people(sandbox) -> dict[str, str]:
    return {
        name: sandbox.control.add_identity(f"{name}@example.org")["id"]
        for name in ("alice", "bob", "carol")
    }


def _fixture(method) -> dict:
    return get_response_set(method).lookup("default").json


def test_get_group_with_memberships(sandbox, groups_client, group, people) -> None:
    sandbox.control.add_group(group, members=["alice@example.org"])
    doc = groups_client.get_group(group, include="memberships")
    assert set(_fixture(globus_sdk.GroupsClient.get_group)) <= set(doc.data)
    assert doc["name"] == "dot-omics"
    members = {m["username"]: m for m in doc["memberships"]}
    assert set(members) == {"alice@example.org", f"{sandbox.client_id}@clients.auth.globus.org"}
    assert all(set(m) == MEMBERSHIP_KEYS for m in doc["memberships"])
    assert (members["alice@example.org"]["role"], members["alice@example.org"]["status"]) == (
        "member",
        "active",
    )
    assert "memberships" not in groups_client.get_group(group).data


def test_my_groups(groups_client, group) -> None:
    mine = groups_client.get_my_groups()
    fixture = _fixture(globus_sdk.GroupsClient.get_my_groups)
    assert [g["id"] for g in mine] == [group]
    assert set(fixture[0]) <= set(mine[0])


def test_batch_add_remove_change_role(groups_client, group, people) -> None:
    actions = globus_sdk.BatchMembershipActions()
    actions.add_members([people["alice"], people["bob"]])
    actions.invite_members([people["carol"]])
    result = groups_client.batch_membership_action(group, actions)
    assert result.http_status == 200
    assert [(m["username"], m["status"]) for m in result["add"]] == [
        ("alice@example.org", "active"),
        ("bob@example.org", "active"),
    ]
    assert result["invite"][0]["status"] == "invited"
    assert "errors" not in result.data

    again = groups_client.batch_membership_action(
        group,
        globus_sdk.BatchMembershipActions()
        .add_members([people["alice"]])
        .remove_members([people["bob"], people["carol"]])
        .change_roles("manager", [str(uuid.uuid4())]),
    )
    assert again.http_status == 200
    assert again["add"] == []
    assert again["errors"]["add"] == [
        {
            "identity_id": people["alice"],
            "code": "ALREADY_ACTIVE",
            "detail": "The identity is already an active member of the group.",
        }
    ]
    assert [m["status"] for m in again["remove"]] == ["removed", "removed"]
    assert again["errors"]["change_role"][0]["code"] == "NO_MEMBERSHIP"

    removed_twice = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().remove_members([people["bob"]])
    )
    assert removed_twice["errors"]["remove"][0]["code"] == "NO_MEMBERSHIP"
    manager = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().change_roles("manager", [people["alice"]])
    )
    assert manager["change_role"][0]["role"] == "manager"


def test_batch_rules(sandbox, groups_client, app_factory, group, people) -> None:
    twice = globus_sdk.BatchMembershipActions().add_members([people["alice"]])
    twice.remove_members([people["alice"]])
    with pytest.raises(globus_sdk.GroupsAPIError) as duplicate:
        groups_client.batch_membership_action(group, twice)
    assert duplicate.value.http_status == 400

    self_removal = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().remove_members([sandbox.client_id])
    )
    assert self_removal["errors"]["remove"][0]["code"] == "CANNOT_REMOVE_SELF"

    member_only = str(uuid.uuid4())
    sandbox.control.add_client(member_only)
    sandbox.control.grant_role("member", member_only, group_id=group)
    with globus_sdk.GroupsClient(
        app=app_factory(member_only), app_scopes=[globus_sdk.scopes.GroupsScopes.all]
    ) as as_member:
        with pytest.raises(globus_sdk.GroupsAPIError) as forbidden:
            as_member.batch_membership_action(
                group, globus_sdk.BatchMembershipActions().remove_members([people["bob"]])
            )
        assert forbidden.value.http_status == 403
        visible = as_member.get_group(group, include="memberships")
        assert "memberships" not in visible.data  # members do not see the member list

    with pytest.raises(globus_sdk.GroupsAPIError) as unknown:
        groups_client.get_group(str(uuid.uuid4()))
    assert unknown.value.http_status == 404


def _codes(result, action: str) -> dict[str, str]:
    return {e["identity_id"]: e["code"] for e in result.get("errors", {}).get(action, [])}


def test_membership_states_seeded_and_the_adds_groups_refuses(
    sandbox, groups_client, group
) -> None:
    ids = {
        status: sandbox.control.add_identity(f"{status}@example.org")["id"]
        for status in ("left", "pending", "invited", "rejected", "declined", "removed")
    }
    opted = sandbox.control.add_identity("private@example.org", groups_opt_out=True)["id"]
    sandbox.control.add_group(
        group,
        memberships=[{"identity": f"{s}@example.org", "status": s} for s in ids],
    )
    listed = groups_client.get_group(group, include="memberships")["memberships"]
    assert {m["identity_id"]: m["status"] for m in listed if m["identity_id"] in ids.values()} == {
        identity: status for status, identity in ids.items()
    }

    added = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().add_members([*ids.values(), opted])
    )
    assert _codes(added, "add") == {
        ids["left"]: "PREVIOUSLY_LEFT",
        opted: "OPTED_OUT",
        ids["pending"]: "INVALID_STATUS",  # a request to join is approved, not added
    }
    assert {m["identity_id"] for m in added["add"]} == {
        ids["invited"],
        ids["rejected"],
        ids["declined"],
        ids["removed"],
    }
    assert all(m["status"] == "active" for m in added["add"])

    approved = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().approve_pending([ids["pending"]])
    )
    assert [(m["identity_id"], m["status"]) for m in approved["approve"]] == [
        (ids["pending"], "active")
    ]
    # Someone who left, or opted out, can still be invited.
    invited = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().invite_members([ids["left"], opted])
    )
    assert "errors" not in invited.data
    assert {m["status"] for m in invited["invite"]} == {"invited"}


def test_subgroup_members_are_implied_and_not_removable(sandbox, groups_client, group) -> None:
    subgroup = str(uuid.uuid4())
    carol = sandbox.control.add_identity("carol@example.org")["id"]
    sandbox.control.add_group(subgroup, name="lab", parent=group, members=["carol@example.org"])
    doc = groups_client.get_group(group, include="memberships")
    implied = [m for m in doc["memberships"] if m["identity_id"] == carol]
    assert implied == [
        {
            "group_id": group,
            "identity_id": carol,
            "username": "carol@example.org",
            "role": "member",
            "status": "active",
            "updated": implied[0]["updated"],
            "source_group_id": subgroup,
        }
    ]
    sandbox.control.grant_role("manager", sandbox.client_id, group_id=subgroup)
    assert groups_client.get_group(subgroup)["parent_id"] == group
    removed = groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().remove_members([carol])
    )
    assert _codes(removed, "remove") == {carol: "NO_MEMBERSHIP"}


def test_groups_401_codes_follow_the_groups_docs(sandbox, globus_env, group) -> None:
    with (
        globus_sdk.GroupsClient() as tokenless,  # no authorizer: no Authorization header
        pytest.raises(globus_sdk.GroupsAPIError) as missing,
    ):
        tokenless.get_group(group)
    assert (missing.value.http_status, missing.value.code) == (401, "AUTHENTICATION_ERROR")
    bogus = globus_sdk.AccessTokenAuthorizer("not-a-token")
    with globus_sdk.GroupsClient(authorizer=bogus) as stale:
        stale.retry_config.max_retries = 0
        with pytest.raises(globus_sdk.GroupsAPIError) as invalid:
            stale.get_group(group)
    assert (invalid.value.http_status, invalid.value.code) == (401, "INVALID_TOKEN")
