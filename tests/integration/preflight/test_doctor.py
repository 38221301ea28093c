"""``reconciler doctor`` against the sandbox over HTTP with the real SDK: ready on the
example specs once converged, not ready (naming collection and role) when a role goes,
and never a write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import globus_sdk
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.credentials import SANDBOX_CLIENT_ID
from tests.integration.conftest import SandboxHandle

EXAMPLE_SPECS = Path(__file__).resolve().parents[3] / "specs"
COLLECTION = "e56c36e4-1063-11e6-a747-22000bf2d559"
GROUP = "b4cada3a-af7c-11e3-8b90-1231391ccf32"
SOURCE = "ddb59aef-6d04-11e5-ba46-22000b92c6ec"
CLIENT = f"{SANDBOX_CLIENT_ID}@clients.auth.globus.org"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def doctor(*args: str) -> Result:
    return run("doctor", "--sandbox", *args, str(EXAMPLE_SPECS))


def world(sandbox: SandboxHandle) -> dict[str, Any]:
    dump = sandbox.control.dump()
    return {key: dump[key] for key in ("collections", "groups", "tasks", "settings")}


@pytest.fixture
def converged(sandbox: SandboxHandle, globus_env: dict[str, str]) -> SandboxHandle:
    """The example specs applied on the sandbox, as `make run` does (seeded, converged)."""
    result = run("apply", "--sandbox", "--auto-approve", str(EXAMPLE_SPECS))
    assert result.exit_code == 0, result.output
    return sandbox


def test_ready_sandbox_passes_and_doctor_writes_nothing(converged: SandboxHandle) -> None:
    before = world(converged)
    mark = converged.control.clear_request_log()
    result = doctor()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "ready: 11 checks, 0 failed, 0 warnings"
    assert all(line.lstrip().startswith("ok ") for line in lines[:-1])
    assert f"collection tutorial ({COLLECTION}): holds access_manager" in result.output
    assert f"stage source {SOURCE}:/share/godata/: readable" in result.output
    calls = converged.control.request_log(mark)["entries"]
    assert {(c["method"], c["service"]) for c in calls if c["method"] != "GET"} == {
        ("POST", "auth")
    }
    assert all(c["path"].endswith("/oauth2/token") for c in calls if c["method"] != "GET")
    # the collection, the stage source (its kind decides the data_access consent), the
    # group, and one ls of the source
    assert sum(c["method"] == "GET" for c in calls) == 4
    assert world(converged) == before


def test_removed_access_manager_role_fails_naming_collection_and_role(
    converged: SandboxHandle,
) -> None:
    converged.control.revoke_role("access_manager", SANDBOX_CLIENT_ID, collection_id=COLLECTION)
    result = doctor()
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1
    assert failed[0].startswith(
        f"FAIL  collection_role           collection tutorial ({COLLECTION}): lacks the "
        "access_manager role (holds: activity_monitor) -> ask the collection's "
        f"administrator to add `{CLIENT}` as Access Manager"
    )
    assert result.output.splitlines()[-1] == "NOT ready: 11 checks, 1 failed, 0 warnings"


def test_json_output_and_the_other_roles(converged: SandboxHandle) -> None:
    control = converged.control
    control.revoke_role("activity_monitor", SANDBOX_CLIENT_ID, collection_id=COLLECTION)
    control.grant_role("member", SANDBOX_CLIENT_ID, group_id=GROUP)
    control.revoke_role("access_manager", SANDBOX_CLIENT_ID, collection_id=SOURCE)
    control.revoke_role("activity_monitor", SANDBOX_CLIENT_ID, collection_id=SOURCE)
    result = doctor("--output", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    failed = {(c["check"], c["subject"]): c for c in doc["checks"] if c["status"] == "fail"}
    assert set(failed) == {
        ("collection_activity_role", f"collection tutorial ({COLLECTION})"),
        ("group_role", f"group tutorial-users ({GROUP})"),
        ("stage_source_read", f"stage source {SOURCE}:/share/godata/"),
    }
    assert "revoke_after_download" in failed[next(iter(failed))]["detail"]
    group_check = failed[("group_role", f"group tutorial-users ({GROUP})")]
    assert group_check["detail"].startswith("the client's role is member")
    source_check = failed[("stage_source_read", f"stage source {SOURCE}:/share/godata/")]
    assert source_check["detail"].startswith("403 EndpointPermissionDenied")
    assert f"give `{CLIENT}` read access" in source_check["remedy"]


def test_an_unseeded_sandbox_is_not_ready_and_says_how_to_seed(
    sandbox: SandboxHandle, globus_env: dict[str, str]
) -> None:
    result = doctor()
    assert result.exit_code == 1
    assert "404 EndpointNotFound" in result.output
    assert f"check the collection id ({EXAMPLE_SPECS}/collections.yaml:7:3)" in result.output
    assert "`reconciler sandbox seed --from-specs PATH" in result.output
    assert world(sandbox)["collections"] == []  # doctor never seeds


def test_a_wrong_client_secret_is_one_failed_check(
    converged: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    converged.control.add_client(converged.client_id, secret="the-right-one")
    monkeypatch.setenv("GLOBUS_CLIENT_ID", converged.client_id)
    monkeypatch.setenv("GLOBUS_CLIENT_SECRET", "a-wrong-one")
    result = run("doctor", str(EXAMPLE_SPECS))  # production mode, pointed at the sandbox
    assert result.exit_code == 1
    assert result.output.startswith(
        f"FAIL  credentials               {converged.client_id}@clients.auth.globus.org: 401"
    )
    assert "check GLOBUS_CLIENT_ID and the client secret" in result.output
    assert "Traceback" not in result.output


def test_sandbox_reports_my_effective_roles(
    sandbox: SandboxHandle, transfer_client: globus_sdk.TransferClient
) -> None:
    plain = sandbox.add_managed_collection(roles=("access_manager", "activity_monitor"))
    admin = sandbox.add_managed_collection(roles=("administrator",))
    none = sandbox.add_managed_collection(roles=())
    assert transfer_client.get_endpoint(plain)["my_effective_roles"] == [
        "access_manager",
        "activity_monitor",
    ]
    # As in globus-cli's captured endpoint_introspect fixture: an administrator's
    # effective roles include the activity roles.
    assert transfer_client.get_endpoint(admin)["my_effective_roles"] == [
        "administrator",
        "activity_manager",
        "activity_monitor",
    ]
    assert transfer_client.get_endpoint(none)["my_effective_roles"] == []


def test_a_mapped_stage_source_is_read_with_its_data_access_consent(
    sandbox: SandboxHandle, globus_env: dict[str, str]
) -> None:
    """Reading a non-high-assurance mapped collection needs its data_access scope: doctor
    asks for it as staging does, so a ready source is not reported unreadable."""
    sandbox.control.add_client(SANDBOX_CLIENT_ID)
    sandbox.control.add_collection(
        SOURCE, roots=["/share/godata/"], entity_type="GCSv5_mapped_collection"
    )
    result = run("apply", "--sandbox", "--auto-approve", str(EXAMPLE_SPECS))
    assert result.exit_code == 0, result.output
    result = doctor()
    assert f"stage source {SOURCE}:/share/godata/: readable" in result.output, result.output
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "command",
    [
        ("doctor", "--sandbox", str(EXAMPLE_SPECS)),
        ("probe", "--sandbox", "--collection", COLLECTION, "--path", "/scratch/"),
    ],
)
def test_no_sandbox_to_check_is_an_error_and_creates_none(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without $RECONCILER_SANDBOX_URL the in-process sandbox opens
    .reconciler/sandbox.db; doctor (and probe) must not create one to look at."""
    monkeypatch.chdir(tmp_path)
    for name in ("RECONCILER_SANDBOX_URL", "RECONCILER_SANDBOX_DB"):
        monkeypatch.delenv(name, raising=False)
    result = run(*command)
    assert result.exit_code == 1
    assert result.output.startswith(
        "error: there is no sandbox at .reconciler/sandbox.db to check (nothing was created)"
    )
    assert list(tmp_path.iterdir()) == []
