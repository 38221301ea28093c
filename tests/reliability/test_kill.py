"""``kill -9`` of ``reconciler apply`` (and of ``reconciler run``) at random points,
then the next run.

Each trial applies a baseline spec set cleanly, edits it (grants added, removed, revoked
early, their expiry moved; memberships added and expired), and runs
``python -m reconciler apply --sandbox --auto-approve`` as a process against the fixture
sandbox with latency on every request, so that it is mid-flight when it gets SIGKILL:
once a random number of its changes (at least one, fewer than its plan holds) have
been answered, as the sandbox's request log shows, plus a random part of the latency,
so requests are in flight and the sandbox carries them out after the process is gone.
Odd trials also edit the specs between the killed run and the next one (a third of the
grants the killed run was adding, and one of the baseline's, are removed again), so
cleanup runs on a half-applied world. The daemon
variant kills ``reconciler run`` the same way and restarts it, as systemd would.

The next run must converge: every wanted rule once and its directory there, no orphan
rule, no orphan directory of a revoked grant (cleanup is on), no directory of a pruned
grant removed before its grace period is over, no rule the specs want ever deleted,
no rule created twice, and ``plan --detailed-exitcode`` says nothing is left to do. One
more ``apply`` once the grace period is over then removes the pruned grants' directories.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.core.actions import AddMember, RemoveDirectory, RemoveMember
from reconciler.core.plan import Plan
from reconciler.reconciling import fetch_plan
from reconciler.spec import load_spec_set
from tests.reliability.clients import fast_clients
from tests.reliability.conftest import Scale, Seeded
from tests.reliability.polling import wait_for
from tests.reliability.scanning import SecretScan
from tests.reliability.specsets import (
    Evolution,
    Membership,
    RuleKey,
    SpecSet,
    WorldView,
    compute_problems,
    evolve,
    later,
    make_grants,
    read_world,
)

WAIT_LIMIT = 60.0
MUTATING = ("POST", "PUT", "DELETE")


def run_cli(*args: str) -> Result:
    """The CLI in-process, as a contract: a traceback fails the test."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def compute_trial(
    rng: Seeded, grants: int, now: datetime, *, change: bool
) -> tuple[SpecSet, SpecSet, SpecSet]:
    """The baseline, the edit the killed run applies, and what the next run applies
    (the same edit, or with some of its new grants and one old one removed again)."""
    first = grants * 2 // 3
    baseline = SpecSet(
        make_grants(rng, range(first), now),
        tuple(Membership(i, later(rng, now)) for i in range(3)),
    )
    edit: Evolution = evolve(
        rng,
        baseline,
        now=now,
        add=range(first, first + grants),
        remove=max(1, grants // 6),
        revoke=1,
        update=1,
        members_added=range(3, 5),
        members_expired=1,
    )
    if not change:
        return baseline, edit.after, edit.after
    dropped = set(rng.sample(sorted(edit.added), len(edit.added) // 3))
    kept_before = sorted(g.index for g in edit.after.grants if g.index not in edit.added)
    dropped.add(rng.choice(kept_before))
    final = SpecSet(
        tuple(g for g in edit.after.grants if g.index not in dropped), edit.after.memberships
    )
    return baseline, edit.after, final


def api_requests(control: Any, since: int) -> list[dict[str, Any]]:
    return list(control.request_log(since)["entries"])


def wait_until_quiet(control: Any, since: int, *, quiet: float) -> None:
    """Until the request log has not grown for ``quiet`` seconds: requests the killed
    process sent are still being answered (the latency) and may change the world."""
    deadline = time.monotonic() + WAIT_LIMIT
    seen, still = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(api_requests(control, since))
        if count != seen:
            seen, still = count, time.monotonic()
        elif time.monotonic() - still >= quiet:
            return
        time.sleep(0.02)
    raise AssertionError("the sandbox kept receiving requests after the kill")


def changes_answered(control: Any, since: int) -> tuple[int, int]:
    """(API requests, of which changes) the sandbox has answered since ``since``."""
    entries = api_requests(control, since)
    changes = [e for e in entries if e["method"] in MUTATING and not e["path"].endswith("/token")]
    return len(entries), len(changes)


def count_changes(plan: Plan) -> int:
    """The change requests ``plan`` makes: one per rule or directory action, one delete
    task per collection, one membership batch per group (these plans stay under 100)."""
    singles = [
        a for a in plan.actions if not isinstance(a, RemoveDirectory | AddMember | RemoveMember)
    ]
    tasks = {a.collection_id for a in plan.actions if isinstance(a, RemoveDirectory)}
    batches = {a.group_id for a in plan.actions if isinstance(a, AddMember | RemoveMember)}
    return len(singles) + len(tasks) + len(batches)


def kill_mid_apply(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    control: Any,
    since: int,
    after_changes: int,
    extra_delay: float,
) -> tuple[int, str, str, tuple[int, int]]:
    """Run ``command``; once the sandbox has answered ``after_changes`` (at least one)
    of its change requests, wait ``extra_delay`` seconds and SIGKILL it. Returns the
    exit code, stdout, stderr and the requests answered by then."""
    out_path, err_path = cwd / "killed.out", cwd / "killed.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + WAIT_LIMIT
        while process.poll() is None and time.monotonic() < deadline:
            requests, changes = changes_answered(control, since)
            if requests and changes >= after_changes:
                break
            time.sleep(0.005)
        time.sleep(extra_delay)
        answered = changes_answered(control, since)
        process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=WAIT_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, out_path.read_text(), err_path.read_text(), answered


def rule_keys(*views: WorldView) -> dict[str, RuleKey]:
    return {
        rule_id: key for view in views for key, ids in view.rule_ids().items() for rule_id in ids
    }


@dataclass(frozen=True)
class Context:
    sandbox: Any
    env: dict[str, str]
    tmp_path: Path
    rng: Seeded
    scan: SecretScan
    grants: int


def run_daemon_pass(context: Context, specs: Path) -> str:
    """``reconciler run`` as a process until its first pass ends, then SIGTERM; returns
    its JSON log. The pass must succeed."""
    command = [sys.executable, "-m", "reconciler", "run", "--sandbox", "--no-watch"]
    command += ["--metrics-address", "off", "--resync", "3600", str(specs)]
    out_path = context.tmp_path / "next.out"
    with out_path.open("w") as out:
        process = subprocess.Popen(
            command, env=context.env, cwd=context.tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(
            lambda: re.search(r'"event": "pass_(finished|failed)"', out_path.read_text()),
            limit=WAIT_LIMIT,
            what="the restarted daemon's first pass",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_LIMIT) == 0, out_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = out_path.read_text()
    context.scan.add("the restarted daemon's output", output)
    ends = [e for e in map(json.loads, output.splitlines()) if e["event"] == "pass_finished"]
    assert ends, output
    assert ends[0]["result"] == "success", output
    return output


def kill_the_edit(context: Context, specs: Path, *, number: int, daemon: bool, intent: Any) -> str:
    """Start ``apply`` (or ``run``) on the specs with latency on every request, SIGKILL
    it once a random number of its changes (fewer than its plan holds) have been
    answered, plus a random part of the latency, and wait until the requests it left in
    flight have been answered. Returns the trial's description."""
    sandbox, rng = context.sandbox, context.rng
    latency = rng.choice([20, 50, 100])
    concurrency = rng.choice([1, 3, 8])
    # Aim at a point after its first change and before its last: after 1 to
    # (changes - 1) changes answered, so every trial leaves a half-applied world.
    with fast_clients() as clients:
        plan, _ = fetch_plan(clients, intent, now=datetime.now(UTC))
    changes = count_changes(plan)
    assert changes >= 2, f"a trial needs at least two changes to stop between, not {changes}"
    after_changes = rng.randrange(1, changes)
    since = sandbox.control.request_log()["next"]
    extra = rng.uniform(0, latency / 1000)
    sandbox.control.inject_fault(latency_ms=latency)
    command = [sys.executable, "-m", "reconciler"]
    if daemon:
        command += ["run", "--sandbox", "--no-watch", "--metrics-address", "off"]
    else:
        command += ["apply", "--sandbox", "--auto-approve"]
    command += ["--concurrency", str(concurrency), str(specs)]
    code, out, err, answered = kill_mid_apply(
        command,
        env=context.env,
        cwd=context.tmp_path,
        control=sandbox.control,
        since=since,
        after_changes=after_changes,
        extra_delay=extra,
    )
    context.scan.add("the killed process's stdout", out)
    context.scan.add("the killed process's stderr", err)
    trial = (
        f"{'daemon' if daemon else 'apply'} trial {number} ({rng.label}): "
        f"{'spec changed' if number % 2 else 'same spec'}, latency {latency} ms, "
        f"concurrency {concurrency}, killed after {answered[0]} requests, {answered[1]} of "
        f"{changes} changes (aimed at {after_changes} + {extra * 1000:.0f} ms)"
    )
    print(trial)
    assert code == -signal.SIGKILL, f"{trial}: not killed mid-flight\n{out}{err}"
    # Proof from the sandbox's request log, read before the kill: a write had been
    # answered, so the next run starts from a world the killed one changed.
    assert answered[1] >= 1, f"{trial}: killed before any write was answered"
    sandbox.control.clear_faults()
    wait_until_quiet(sandbox.control, since, quiet=latency / 1000 + 0.5)
    return trial


def run_trial(context: Context, number: int, *, daemon: bool) -> None:
    """One trial: baseline, the edit killed mid-flight, the next run, the checks."""
    sandbox = context.sandbox
    now = datetime.now(UTC).replace(microsecond=0)
    baseline, edit, final = compute_trial(context.rng, context.grants, now, change=number % 2 == 1)
    specs = context.tmp_path / "specs"
    baseline.write(specs)
    first = run_cli("apply", "--sandbox", "--auto-approve", str(specs))
    context.scan.add("the baseline apply", first.output + first.stderr)
    assert first.exit_code == 0, first.output + first.stderr
    before = read_world(sandbox.control.dump())
    since = sandbox.control.request_log()["next"]

    edit.write(specs)
    loaded = load_spec_set([specs], now=now)
    assert loaded.intent is not None
    trial = kill_the_edit(context, specs, number=number, daemon=daemon, intent=loaded.intent)
    killed = read_world(sandbox.control.dump())

    final.write(specs)
    if daemon:
        shown = run_daemon_pass(context, specs)
    else:
        second = run_cli("apply", "--sandbox", "--auto-approve", str(specs))
        shown = second.output + second.stderr
        context.scan.add("the next apply", shown)
        assert second.exit_code == 0, f"{trial}\n{shown}"
    sandbox.control.advance_clock(60)  # let cleanup tasks finish on sandbox time
    after = read_world(sandbox.control.dump())
    gone = (baseline.paths() | edit.paths() | final.paths()) - {k[2] for k in final.wanted(now)}
    # Grants removed from the specs without ever expiring in them were pruned: their
    # directories wait out the grace period, whatever point the kill came at.
    pruned = gone - expired_paths(now, edit, final)
    problems = compute_problems(after, final, now=now, gone_paths=gone - pruned)
    assert problems == [], f"{trial}\n" + "\n".join(problems) + f"\n{shown}"
    early = sorted((pruned & killed.directories) - after.directories)
    assert early == [], f"{trial}: removed before the grace period was over: {early}\n{shown}"

    # No rule the specs want was ever deleted; no rule was created twice.
    requests = api_requests(sandbox.control, since)
    known = rule_keys(before, killed)
    wanted = final.wanted(now)
    deleted = [r["path"].rsplit("/", 1)[-1] for r in requests if r["method"] == "DELETE"]
    assert [known[i] for i in deleted if known.get(i) in wanted] == [], trial
    creates = sum(
        1
        for r in requests
        if r["method"] == "POST" and r["path"].endswith("/access") and r["status"] == 201
    )
    new_keys = (set(edit.wanted(now)) | set(wanted)) - set(before.rule_ids())
    assert creates <= len(new_keys), f"{trial}: {creates} rules created for {len(new_keys)}"

    plan = run_cli("plan", "--sandbox", "--detailed-exitcode", str(specs))
    context.scan.add("the final plan", plan.output + plan.stderr)
    assert plan.exit_code == 0, f"{trial}\n{plan.output}"
    finish_the_grace(context, specs, final, gone=gone, trial=trial)


def expired_paths(now: datetime, *spec_sets: SpecSet) -> set[str]:
    return {g.path for spec in spec_sets for g in spec.grants if g.expires <= now}


def finish_the_grace(
    context: Context, specs: Path, final: SpecSet, *, gone: set[str], trial: str
) -> None:
    """Move Globus's clock (and ``--now`` with it) past the prune grace: one more apply
    removes every directory left for a grant no longer wanted, and nothing else."""
    sandbox = context.sandbox
    sandbox.control.advance_clock(8 * 86400)
    over = datetime.fromisoformat(sandbox.control.clock()["now"])
    at = over.strftime("%Y-%m-%dT%H:%M:%SZ")
    grace = run_cli("apply", "--sandbox", "--auto-approve", "--now", at, str(specs))
    context.scan.add("the apply after the grace", grace.output + grace.stderr)
    assert grace.exit_code == 0, f"{trial}\n{grace.output}"
    sandbox.control.advance_clock(60)
    view = read_world(sandbox.control.dump())
    problems = compute_problems(view, final, now=over, gone_paths=gone)
    assert problems == [], f"{trial}\n" + "\n".join(problems) + f"\n{grace.output}"
    done = run_cli("plan", "--sandbox", "--detailed-exitcode", "--now", at, str(specs))
    assert done.exit_code == 0, f"{trial}\n{done.output}"


def test_kill_9_mid_apply_then_the_next_run_converges(
    *,
    kill_trial: int,
    sandbox: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    scale: Scale,
    rng: Seeded,
    secret_scan: SecretScan,
) -> None:
    env = {**os.environ, **globus_env}
    context = Context(sandbox, env, tmp_path, rng, secret_scan, scale.kill_grants)
    run_trial(context, kill_trial, daemon=False)


def test_kill_9_mid_pass_of_the_daemon_then_the_restarted_daemon_converges(
    *,
    daemon_kill_trial: int,
    sandbox: Any,
    globus_env: dict[str, str],
    tmp_path: Path,
    scale: Scale,
    rng: Seeded,
    secret_scan: SecretScan,
) -> None:
    """The same with ``reconciler run``: systemd restarts a daemon that was killed (OOM,
    the watchdog) and its first pass must repair what the killed one left."""
    env = {**os.environ, **globus_env}
    context = Context(sandbox, env, tmp_path, rng, secret_scan, scale.kill_grants)
    run_trial(context, daemon_kill_trial, daemon=True)
