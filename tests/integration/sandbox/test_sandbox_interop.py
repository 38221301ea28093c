"""Interop: globus-cli, an independent client, reads what the SDK wrote into the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import globus_sdk
import pytest

GLOBUS = Path(sys.executable).with_name("globus")


@pytest.fixture
def run_globus(sandbox, globus_env, tmp_path):
    if not GLOBUS.exists() and shutil.which("globus") is None:
        pytest.skip("globus-cli is not installed next to this Python")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "GLOBUS_CLI_CLIENT_ID": sandbox.client_id,
        "GLOBUS_CLI_CLIENT_SECRET": sandbox.client_secret,
        **globus_env,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(GLOBUS) if GLOBUS.exists() else "globus", *args]
        return subprocess.run(
            command, check=False, env=env, capture_output=True, text=True, timeout=60
        )

    return run


def test_cli_lists_the_rules_the_sdk_wrote(sandbox, transfer_client, run_globus) -> None:
    collection = sandbox.add_managed_collection()
    alice = sandbox.control.add_identity("alice@example.org")["id"]
    rule_id = transfer_client.add_endpoint_acl_rule(
        collection,
        {
            "DATA_TYPE": "access",
            "principal_type": "identity",
            "principal": alice,
            "path": "/disthome/run42/",
            "permissions": "r",
            "expiration_date": "2030-01-01T00:00:00Z",
        },
    )["access_id"]

    as_json = run_globus("endpoint", "permission", "list", collection, "-F", "json")
    assert as_json.returncode == 0, as_json.stderr
    listed = json.loads(as_json.stdout)
    assert listed == transfer_client.endpoint_acl_list(collection).data
    assert rule_id in {entry["id"] for entry in listed["DATA"]}

    as_text = run_globus("endpoint", "permission", "list", collection)
    assert as_text.returncode == 0, as_text.stderr
    assert "alice@example.org" in as_text.stdout  # resolved through /v2/api/identities


def test_cli_lists_the_members_the_sdk_added(sandbox, groups_client, run_globus) -> None:
    group = sandbox.add_managed_group()
    alice = sandbox.control.add_identity("alice@example.org")["id"]
    groups_client.batch_membership_action(
        group, globus_sdk.BatchMembershipActions().add_members([alice])
    )
    result = run_globus("group", "member", "list", group, "-F", "json")
    assert result.returncode == 0, result.stderr
    members = {m["username"]: m for m in json.loads(result.stdout)["memberships"]}
    assert members["alice@example.org"]["status"] == "active"
    assert members["alice@example.org"]["role"] == "member"


def test_cli_resolves_a_guest_collection_to_its_gcs_manager(sandbox, transfer_client) -> None:
    """`globus collection show` first reads get_endpoint and needs `gcs_manager_url` and
    the owning endpoint there (it then calls that GCS Manager, which the sandbox does not
    emulate); this runs globus-cli's own resolution against the sandbox."""
    endpointish = pytest.importorskip("globus_cli.endpointish")
    collection = sandbox.add_managed_collection()
    found = endpointish.Endpointish(collection, transfer_client=transfer_client)
    endpoint_id = found.get_collection_endpoint_id()
    assert (
        found.get_gcs_address()
        == transfer_client.get_endpoint(collection)["gcs_manager_url"] + "/api"
    )
    assert found.get_gcs_address().startswith("https://")
    assert transfer_client.get_endpoint(collection)["owner_string"] == (
        f"{endpoint_id}@clients.auth.globus.org"
    )
