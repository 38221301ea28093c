"""Command-line conventions on the sandbox over HTTP: colour on a real terminal and
NO_COLOR, ``apply --output json``, ``show-plan``, ``--target``, drift in ``status``,
and network errors that name the host and the cause."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.credentials import TokenCredentials
from reconciler.errors import GlobusError
from reconciler.globus.connecting import connect
from reconciler.globus.reading import fetch_collection
from reconciler.globus.retrying import RetryNotice, install_retry_notices
from tests.integration.conftest import SandboxHandle
from tests.integration.engine.conftest import COLLECTION, FAST, World

TWO_DISTRIBUTIONS = """
distributions:
  - name: users
    collection: tutorial
    path: /disthome/{identity_id}/
    grants:
      - identity: alice@example.org
        expires: 2027-06-30
  - name: shared
    collection: tutorial
    grants:
      - group: tutorial-users
        path: /disthome/shared/
        expires: 2027-06-30
"""


@pytest.fixture
def two(world: World) -> World:
    world.write("dists.yaml", TWO_DISTRIBUTIONS)
    return world


def run_on_terminal(args: list[str], *, env: dict[str, str], cwd: Path) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal; what it showed."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.wait(timeout=60) in (0, 1, 2)
    return b"".join(chunks).decode()


def test_no_color_on_a_terminal(two: World, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    args = ["plan", "--sandbox", str(two.specs)]
    coloured = run_on_terminal(args, env=env, cwd=tmp_path)
    assert "create rule" in coloured
    assert "\x1b[" in coloured  # on a terminal, colour by default
    plain = run_on_terminal(args, env={**env, "NO_COLOR": "1"}, cwd=tmp_path)
    assert "create rule" in plain
    assert "\x1b[" not in plain
    flag = run_on_terminal(["--no-color", *args], env=env, cwd=tmp_path)
    assert "create rule" in flag
    assert "\x1b[" not in flag
    error = run_on_terminal(["--no-color", "plan", "--sandbox", "nowhere"], env=env, cwd=tmp_path)
    assert "error: " in error
    assert "\x1b[" not in error


def test_apply_output_json(two: World) -> None:
    specs = str(two.specs)
    asked = two.cli("apply", "--sandbox", "--output", "json", specs)
    assert asked.exit_code == 2
    assert "--output json needs --auto-approve" in asked.output

    done = two.cli("apply", "--sandbox", "--auto-approve", "--output", "json", specs)
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["applied"] is True
    assert doc["ok"] is True
    assert doc["refused"] is None
    assert doc["summary"] == {"done": 4, "failed": 0, "skipped": 0}
    kinds = sorted(o["action"]["kind"] for o in doc["outcomes"])
    assert kinds == ["create_rule", "create_rule", "make_directory", "make_directory"]
    assert doc["plan"]["format_version"] == 1

    again = json.loads(
        two.cli("apply", "--sandbox", "--auto-approve", "--output", "json", specs).stdout
    )
    assert again == {**again, "applied": False, "ok": True, "outcomes": []}
    assert again["plan"]["actions"] == []


def test_show_plan_renders_a_saved_plan(two: World, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert two.cli("plan", "--sandbox", "--out", str(saved), str(two.specs)).exit_code == 0
    text = two.cli("show-plan", str(saved))
    assert text.exit_code == 0
    assert "create rule" in text.output
    assert "Plan: 4 change(s)" in text.output
    markdown = two.cli("show-plan", "--output", "markdown", str(saved))
    assert markdown.output.startswith("### reconciler plan")
    # A tampered file whose text would rewrite the reviewer's terminal is not a plan:
    # ESC [1A ESC [2K erases the line above (a "delete rule", say).
    doc = json.loads(saved.read_text())
    doc["notes"].append("\x1b[1A\x1b[2K\rnothing to see")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    for command in (
        ["show-plan"],
        ["apply", "--sandbox", "--auto-approve", str(two.specs), "--plan"],
    ):
        refused = two.cli(*command, str(tampered))
        assert refused.exit_code == 1
        assert "control character U+001B in plan.notes[" in refused.output
        assert "\x1b" not in refused.output
    for bad, why in (
        ("not json", "not a reconciler plan file"),
        ('{"format_version": 9}', "unsupported plan format_version 9"),
    ):
        saved.write_text(bad)
        refused = two.cli("show-plan", str(saved))
        assert refused.exit_code == 1
        assert refused.output.startswith(f"error: {saved}: ")
        assert why in refused.output
        assert refused.output.count("\n") == 1
    missing = two.cli("show-plan", str(tmp_path / "none.json"))
    assert missing.exit_code == 1
    assert missing.output == f"error: {tmp_path / 'none.json'}: No such file or directory\n"


def plan_json(world: World, *args: str) -> dict[str, object]:
    result = world.cli("plan", "--sandbox", "--output", "json", *args, str(world.specs))
    assert result.exit_code in (0, 1), result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def add_stray_rule(world: World) -> None:
    """A rule under the root that no spec asks for: the full plan prunes it."""
    bob = world.identity("bob@example.org")
    clients = world.clients()
    try:
        clients.transfer.add_endpoint_acl_rule(
            COLLECTION,
            {"DATA_TYPE": "access", "principal_type": "identity", "principal": bob,
             "path": "/disthome/stray/", "permissions": "r"},
        )  # fmt: skip
    finally:
        clients.close()


def test_target_limits_plan_and_apply_and_never_prunes_outside(
    two: World, seeded: object, tmp_path: Path
) -> None:
    seeded()  # type: ignore[operator]
    add_stray_rule(two)
    full = plan_json(two)
    assert {a["kind"] for a in full["actions"]} >= {"delete_rule", "create_rule"}  # type: ignore[union-attr]

    users = plan_json(two, "--target", "users")
    assert users["targets"] == ["users"]
    paths = {(a["kind"], a["path"]) for a in users["actions"]}  # type: ignore[union-attr]
    assert ("create_rule", "/disthome/shared/") not in paths
    assert all(kind != "delete_rule" for kind, _ in paths)  # a prune belongs to no distribution
    assert {kind for kind, _ in paths} == {"make_directory", "create_rule"}

    collection = plan_json(two, "--target", "collection:tutorial")
    assert any(a["kind"] == "delete_rule" for a in collection["actions"])  # type: ignore[union-attr]
    text = two.cli("plan", "--sandbox", "--target", "users", str(two.specs)).output
    assert "warning: this plan is limited to users (--target)" in text

    unknown = two.cli("plan", "--sandbox", "--target", "user", str(two.specs))
    assert unknown.exit_code == 2
    assert "there is no distribution 'user' in the specs (known: shared, users)" in unknown.output

    # The guard refuses the full plan (1 prune > 0); a target that prunes is refused too,
    # one that prunes nothing goes ahead.
    guard = ("--max-deletions", "0")
    blocked = two.cli("apply", "--sandbox", "--auto-approve", *guard,
                      "--target", "collection:tutorial", str(two.specs))  # fmt: skip
    assert blocked.exit_code == 1
    assert "BLOCKED" in blocked.output
    as_json = two.cli("apply", "--sandbox", "--auto-approve", *guard, "--output", "json",
                      "--target", "collection:tutorial", str(two.specs))  # fmt: skip
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert (doc["applied"], doc["ok"], doc["refused"]) == (False, False, "nothing was applied")
    assert doc["plan"]["guard"]["tripped"] is True
    assert len(two.rules()) == 1
    applied = two.cli("apply", "--sandbox", "--auto-approve", *guard,
                      "--target", "users", str(two.specs))  # fmt: skip
    assert applied.exit_code == 0, applied.output
    rules = {r["path"] for r in two.rules()}
    assert "/disthome/stray/" in rules  # not pruned
    assert "/disthome/shared/" not in rules  # not in the target
    assert len(rules) == 2

    saved = tmp_path / "plan.json"
    assert two.cli("plan", "--sandbox", "--target", "shared", "--out", str(saved),
                   str(two.specs)).exit_code == 0  # fmt: skip
    other = two.cli("apply", "--sandbox", "--auto-approve", "--plan", str(saved),
                    "--target", "users", str(two.specs))  # fmt: skip
    assert other.exit_code == 1
    assert "this plan was made with --target shared" in other.output
    untargeted = tmp_path / "full.json"
    two.cli("plan", "--sandbox", "--out", str(untargeted), str(two.specs))
    narrowed = two.cli("apply", "--sandbox", "--auto-approve", "--plan", str(untargeted),
                       "--target", "shared", str(two.specs))  # fmt: skip
    assert narrowed.exit_code == 1
    assert "this plan was made without --target" in narrowed.output
    own = two.cli("apply", "--sandbox", "--auto-approve", "--plan", str(saved), str(two.specs))
    assert own.exit_code == 0, own.output
    rules = {r["path"] for r in two.rules()}
    assert {"/disthome/shared/", "/disthome/stray/"} <= rules


def test_status_marks_a_rule_changed_out_of_band(two: World) -> None:
    assert two.cli("apply", "--sandbox", "--auto-approve", str(two.specs)).exit_code == 0
    shared = next(r for r in two.rules() if r["path"] == "/disthome/shared/")
    clients = two.clients()
    try:
        clients.transfer.update_endpoint_acl_rule(
            COLLECTION, shared["id"], {"DATA_TYPE": "access", "permissions": "rw"}
        )
    finally:
        clients.close()
    text = two.cli("status", "--sandbox", str(two.specs)).output
    row = next(line for line in text.splitlines() if "/disthome/shared/" in line)
    assert "rw" in row
    assert row.rstrip().endswith("drifted: permissions rw -> r")
    assert "in spec" not in row
    doc = json.loads(two.cli("status", "--sandbox", "--output", "json", str(two.specs)).stdout)
    drifted = {e["where"]: e["drifted"] for e in doc["entries"] if e["kind"] == "rule"}
    assert drifted == {"tutorial:/disthome/shared/": True, **{
        k: False for k in drifted if k != "tutorial:/disthome/shared/"
    }}  # fmt: skip
    assert len(drifted) == 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch_collection_unreachable() -> tuple[GlobusError, list[RetryNotice]]:
    """Read a collection through clients whose services cannot be reached (the test sets
    the service URLs): the error it ends with and the retry notices before it."""
    notices: list[RetryNotice] = []
    clients = connect(TokenCredentials({"transfer.api.globus.org": "t"}), on_retry=notices.append)
    clients.transfer.retry_config.backoff = lambda _ctx: FAST
    try:
        with pytest.raises(GlobusError) as raised:
            fetch_collection(clients.transfer, COLLECTION)
    finally:
        clients.close()
    return raised.value, notices


def test_network_errors_name_the_host_and_cause_after_announcing_each_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = closed_port()
    for service in ("TRANSFER", "GROUPS", "AUTH"):
        monkeypatch.setenv(f"GLOBUS_SDK_SERVICE_URL_{service}", f"http://127.0.0.1:{port}/")
    error, notices = fetch_collection_unreachable()
    assert str(error) == (
        f"transfer: cannot reach 127.0.0.1:{port}: connection refused (gave up after retrying)"
    )
    assert [n.attempt for n in notices] == [1, 2, 3, 4, 5]
    assert str(notices[0]) == (f"transfer: 127.0.0.1:{port}: connection refused; retrying (1 of 5)")


def test_a_password_in_a_service_url_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    url = f"http://proxyuser:s3cretpw@127.0.0.1:{port}/"
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_TRANSFER", url)
    error, notices = fetch_collection_unreachable()
    shown = [str(error), *(str(n) for n in notices)]
    assert notices
    assert not [line for line in shown if "s3cretpw" in line or "proxyuser" in line], shown
    assert f"cannot reach 127.0.0.1:{port}: connection refused" in shown[0]


def test_a_retried_503_is_announced(world: World, seeded: object, sandbox: SandboxHandle) -> None:
    seeded()  # type: ignore[operator]
    sandbox.control.inject_fault(path="/access_list", status=503, times=2)
    notices: list[RetryNotice] = []
    clients = world.clients()
    install_retry_notices(clients.transfer, "transfer", notices.append)
    try:
        found = fetch_collection(clients.transfer, COLLECTION)
    finally:
        clients.close()
    assert found.id == COLLECTION
    assert [(n.cause, n.attempt) for n in notices] == [
        ("HTTP 503 Service Unavailable", 1),
        ("HTTP 503 Service Unavailable", 2),
    ]
    assert notices[0].host == world.url.removeprefix("http://").rstrip("/")


def test_a_targeted_apply_never_hides_a_vanished_spec_file(two: World) -> None:
    """The full apply records which spec files held grants. A file deleted since must
    still trip the guard after a targeted apply that left its prune out."""
    extra = two.write("extra.yaml", EXTRA)
    assert two.cli("apply", "--sandbox", "--auto-approve", str(two.specs)).exit_code == 0
    extra.unlink()
    targeted = two.cli("apply", "--sandbox", "--auto-approve", "--target", "users",
                       str(two.specs))  # fmt: skip
    assert targeted.exit_code == 0, targeted.output
    assert "No changes" in targeted.output
    after = plan_json(two)
    assert after["blocked"] is True
    assert "vanished_spec_files" in after["guard"]["tripped_by"]  # type: ignore[index]
    assert any(r["path"] == "/disthome/extra/" for r in two.rules())


EXTRA = """
distributions:
  - name: extra
    collection: tutorial
    grants:
      - group: tutorial-users
        path: /disthome/extra/
        expires: 2027-06-30
"""
