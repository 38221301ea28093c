"""``reconciler probe`` on the sandbox over HTTP with the real SDK: the report matches
the sandbox's configured behaviour (both expiry modes), the probe stays in its scratch
directory, and it cleans up on success, on its call budget, and when interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import globus_sdk
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.cli.probing import SandboxClock, SandboxRuleLimit
from reconciler.credentials import SANDBOX_CLIENT_ID, sandbox_credentials
from reconciler.errors import GlobusError
from reconciler.globus.connecting import connect
from reconciler.globus.probing import ProbePort
from reconciler.probing import ProbeOptions, ProbeReport, run_probe
from tests.integration.conftest import SandboxHandle

SCRATCH = "/scratch/"
SAMPLE = f"{SCRATCH}sample.txt"
EXPECTED = {
    "duplicate_rule": {"http_status": 409, "code": "Exists"},
    "rule_path_without_trailing_slash": {"http_status": 400, "code": "InvalidPath"},
    "rule_on_missing_directory": {"outcome": "accepted"},
    "delete_missing_rule": {"http_status": 404, "code": "AccessRuleNotFound"},
    "mkdir_existing": {"http_status": 502, "code": "ExternalError.MkdirFailed.Exists"},
    "mkdir_missing_parent": {"http_status": 404, "code": "ClientError.NotFound"},
    "rule_limit": {"http_status": 409, "code": "LimitExceeded", "lowered_limit": True},
    "source_path": {"form": "collection_relative", "reported": SAMPLE, "sent": SAMPLE},
}


def probe(collection: str, *args: str, path: str = SCRATCH) -> Result:
    return CliRunner().invoke(
        cli,
        ["probe", "--sandbox", "--collection", collection, "--path", path, *args],
        catch_exceptions=False,
    )


@pytest.fixture
def collection(sandbox: SandboxHandle, globus_env: dict[str, str]) -> str:
    """A collection with a scratch directory holding one small file, on which the
    reconciler's sandbox client is access manager and activity monitor."""
    control = sandbox.control
    control.add_client(SANDBOX_CLIENT_ID)
    collection_id = str(uuid.uuid4())
    control.add_collection(collection_id, display_name="probe", roots=["/disthome/"])
    for role in ("access_manager", "activity_monitor"):
        control.grant_role(role, SANDBOX_CLIENT_ID, collection_id=collection_id)
    control.add_files(collection_id, [{"path": SAMPLE, "size": 100}])
    return collection_id


def state(sandbox: SandboxHandle, collection_id: str) -> dict[str, Any]:
    """Rules, directory tree and settings: what the probe may change and must restore."""
    dump = sandbox.control.dump()
    found = next(c for c in dump["collections"] if c["id"] == collection_id)
    return {
        "rules": found["rules"],
        "tree": sorted(e["path"] for e in found["tree"]),
        "settings": dump["settings"],
    }


def assert_clean(report: dict[str, Any]) -> None:
    cleanup = report["cleanup"]
    assert cleanup["complete"] is True, cleanup
    assert (cleanup["rules_left"], cleanup["errors"]) == ([], [])
    assert cleanup["delete_status"] == "SUCCEEDED"
    assert cleanup["directory"].startswith(f"{SCRATCH}reconciler-probe-")


@pytest.mark.parametrize(("mode", "expiry"), [("keep", "kept_listed"), ("delete", "deleted")])
def test_report_matches_the_sandbox_and_nothing_is_left(
    sandbox: SandboxHandle, collection: str, mode: str, expiry: str
) -> None:
    sandbox.control.update_settings(expiry_mode=mode)
    before = state(sandbox, collection)
    started = datetime.fromisoformat(sandbox.control.clock()["now"])

    result = probe(collection)

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    behaviours = {b["behaviour"]: b for b in report["behaviours"]}
    assert {b["status"] for b in behaviours.values()} == {"observed"}
    assert all(b["agrees"] is True for b in behaviours.values())
    assert report["disagreements"] == []
    assert behaviours["rule_expiry"]["observed"]["outcome"] == expiry
    if mode == "keep":
        assert behaviours["rule_expiry"]["observed"]["recreate_while_listed"] == "409 Exists"
    for name, expected in EXPECTED.items():
        observed = behaviours[name]["observed"]
        assert {key: observed[key] for key in expected} == expected, name
    assert_clean(report)
    assert report["cleanup"]["rule_limit_restored"] is True
    assert state(sandbox, collection) == before
    # The sandbox clock was moved past the rule's expiry instead of waiting for it.
    moved = datetime.fromisoformat(sandbox.control.clock()["now"]) - started
    assert moved.total_seconds() >= 120


def test_source_path_is_not_probed_without_a_file_or_the_monitor_role(
    sandbox: SandboxHandle, collection: str
) -> None:
    sandbox.control.revoke_role("activity_monitor", SANDBOX_CLIENT_ID, collection_id=collection)
    report = json.loads(probe(collection).stdout)
    source = next(b for b in report["behaviours"] if b["behaviour"] == "source_path")
    assert (source["status"], source["agrees"]) == ("not_probed", None)
    assert "the activity_monitor role on the collection is needed" in source["summary"]

    empty = f"{SCRATCH}empty/"
    sandbox.control.add_directories(collection, [empty])
    result = probe(collection, path=empty)
    assert result.exit_code == 0
    source = next(
        b for b in json.loads(result.stdout)["behaviours"] if b["behaviour"] == "source_path"
    )
    assert source["status"] == "not_probed"
    assert "put a small file there" in source["summary"]


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        ("/", 2, "may not be the root"),
        ("scratch/", 2, "must be absolute"),
        ("/scratch/../disthome/", 2, "'.' or '..'"),
        ("/missing/", 1, "cannot list the scratch directory /missing/"),
    ],
)
def test_bad_scratch_directories_are_refused_and_change_nothing(
    sandbox: SandboxHandle, collection: str, path: str, code: int, message: str
) -> None:
    before = state(sandbox, collection)
    result = probe(collection, path=path)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    assert state(sandbox, collection) == before


def test_a_caller_without_the_access_manager_role_is_refused(
    sandbox: SandboxHandle, collection: str
) -> None:
    sandbox.control.revoke_role("access_manager", SANDBOX_CLIENT_ID, collection_id=collection)
    before = state(sandbox, collection)
    result = probe(collection)
    assert result.exit_code == 1
    assert "the probe needs access_manager (or administrator) to create rules" in result.output
    assert state(sandbox, collection) == before


def test_the_call_budget_stops_the_probe_and_it_still_cleans_up(
    sandbox: SandboxHandle, collection: str
) -> None:
    before = state(sandbox, collection)
    result = probe(collection, "--max-calls", "20")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["stopped"] == "the probe made its 20 calls (--max-calls); stopping"
    assert any(b["summary"].startswith("not reached: the probe made") for b in report["behaviours"])
    assert_clean(report)
    assert state(sandbox, collection) == before


def probe_in_process(
    sandbox: SandboxHandle,
    collection_id: str,
    *,
    make_port: Callable[[globus_sdk.TransferClient], ProbePort] | None = None,
    clock: SandboxClock | None = None,
    options: ProbeOptions | None = None,
    lower_limit: bool = True,
) -> ProbeReport:
    """``run_probe`` as the command runs it on the sandbox, with the port, clock and
    options a test wants to vary."""
    clients = connect(sandbox_credentials())
    try:
        port = (make_port or default_port(collection_id))(clients.transfer)
        return run_probe(
            port,
            clock or SandboxClock(sandbox.control),
            options or ProbeOptions(SANDBOX_CLIENT_ID),
            limits=SandboxRuleLimit(sandbox.control) if lower_limit else None,
        )
    finally:
        clients.close()


def default_port(collection_id: str) -> Callable[[globus_sdk.TransferClient], ProbePort]:
    return lambda transfer: ProbePort(transfer, collection_id, SCRATCH, max_calls=300)


class InterruptingClock(SandboxClock):
    """The sandbox clock, and a Ctrl-C the first time the probe waits."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.interrupted = False

    def sleep(self, seconds: float) -> None:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        super().sleep(seconds)


def test_ctrl_c_while_waiting_cleans_up(sandbox: SandboxHandle, collection: str) -> None:
    before = state(sandbox, collection)
    report = probe_in_process(sandbox, collection, clock=InterruptingClock(sandbox.control))
    assert (report.interrupted, report.stopped) == (True, "interrupted")
    assert report.cleanup.complete
    assert report.cleanup.rules_deleted >= 1  # the expiring rule at least
    assert state(sandbox, collection) == before


@pytest.fixture
def slow_history(sandbox: SandboxHandle) -> Iterator[None]:
    """Reading task history takes 10 s, so the probe is still running when signalled."""
    sandbox.control.inject_fault(path="/endpoint_manager/", latency_ms=10_000, times=1)
    yield
    sandbox.control.clear_faults()


def test_sigterm_stops_the_command_which_cleans_up_and_exits_130(
    sandbox: SandboxHandle, collection: str, slow_history: None
) -> None:
    before = state(sandbox, collection)
    env = {**os.environ, "RECONCILER_SANDBOX_URL": sandbox.url}
    command = [sys.executable, "-m", "reconciler", "probe", "--sandbox"]
    process = subprocess.Popen(
        [*command, "--collection", collection, "--path", SCRATCH],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        progress = []
        for line in process.stderr:  # the probe reports each step as it starts it
            progress.append(line)
            if "probing source_path" in line:
                process.send_signal(signal.SIGTERM)
                break
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, "".join(progress) + stderr
    report = json.loads(stdout)
    assert report["interrupted"] is True
    assert_clean(report)
    assert state(sandbox, collection) == before


def test_probe_rule_limit_creates_rules_until_globus_refuses(
    sandbox: SandboxHandle, collection: str
) -> None:
    """What ``--probe-rule-limit`` does on real Globus (no setting to lower): create
    rules until the limit answers, then delete every one of them."""
    sandbox.control.update_settings(max_rules_per_collection=12)
    before = state(sandbox, collection)
    report = probe_in_process(
        sandbox,
        collection,
        options=ProbeOptions(SANDBOX_CLIENT_ID, probe_rule_limit=True),
        lower_limit=False,
    )
    limit = next(o for o in report.observations if o.behaviour == "rule_limit")
    assert limit.status == "observed"
    assert {k: limit.outcome[k] for k in ("code", "rules_before", "lowered_limit")} == {
        "code": "LimitExceeded",
        "rules_before": 12,
        "lowered_limit": False,
    }
    assert report.cleanup.complete
    assert report.cleanup.rule_limit_restored is None
    assert state(sandbox, collection) == before


class AnswerLostPort(ProbePort):
    """Globus makes the ``lose``-th rule, but its answer never reaches the probe: the
    connection drops (a network error) or Ctrl-C arrives just before the id is kept."""

    def __init__(self, *args: Any, lose: int, failure: BaseException, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lose = lose
        self.failure = failure
        self.created = 0

    def create_rule(self, **kwargs: Any) -> str:
        rule_id = super().create_rule(**kwargs)
        self.created += 1
        if self.created == self.lose:
            raise self.failure
        return rule_id


@pytest.mark.parametrize(
    ("lose", "failure"),
    [
        (1, KeyboardInterrupt()),  # the expiring rule
        (2, GlobusError("network error: ConnectionError", service="transfer", retryable=True)),
    ],
)
def test_a_rule_whose_answer_was_lost_is_still_cleaned_up(
    sandbox: SandboxHandle, collection: str, lose: int, failure: BaseException
) -> None:
    before = state(sandbox, collection)
    ports: list[AnswerLostPort] = []

    def make_port(transfer: globus_sdk.TransferClient) -> ProbePort:
        ports.append(
            AnswerLostPort(transfer, collection, SCRATCH, max_calls=300, lose=lose, failure=failure)
        )
        return ports[0]

    report = probe_in_process(sandbox, collection, make_port=make_port)
    assert ports[0].created >= lose
    assert report.cleanup.complete, report.cleanup
    assert report.cleanup.rules_left == []
    assert state(sandbox, collection) == before


class SignalledDuringCleanupPort(ProbePort):
    """A SIGTERM (which the command turns into a Ctrl-C) arrives while the run
    directory is being deleted, after the probe was already interrupted once."""

    def submit_delete(self, path: str) -> str:
        os.kill(os.getpid(), signal.SIGTERM)
        return super().submit_delete(path)


def test_a_second_signal_does_not_cut_cleaning_up_short(
    sandbox: SandboxHandle, collection: str
) -> None:
    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    before = state(sandbox, collection)
    previous = signal.signal(signal.SIGTERM, interrupt)  # as `reconciler probe` does
    try:
        report = probe_in_process(
            sandbox,
            collection,
            make_port=lambda transfer: SignalledDuringCleanupPort(
                transfer, collection, SCRATCH, max_calls=300
            ),
            clock=InterruptingClock(sandbox.control),
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert report.interrupted
    assert report.cleanup.complete, report.cleanup
    assert state(sandbox, collection) == before


def test_a_run_directory_that_was_never_made_is_not_reported_as_left_behind(
    sandbox: SandboxHandle, collection: str
) -> None:
    sandbox.control.inject_fault(
        path="/operation/endpoint/.*/mkdir", status=403, code="PermissionDenied", times=1
    )
    before = state(sandbox, collection)
    result = probe(collection)
    assert result.exit_code == 1  # stopped by the refusal
    report = json.loads(result.stdout)
    assert "403 PermissionDenied" in report["stopped"]
    cleanup = report["cleanup"]
    assert (cleanup["delete_status"], cleanup["directory_absent"]) == ("FAILED", True)
    assert cleanup["complete"] is True
    assert state(sandbox, collection) == before
