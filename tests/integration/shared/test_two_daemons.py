"""Two daemons on one store: exactly one leads and writes to Globus, the other stands
by (no Globus request at all, says so in /readyz and its metrics). When the leader is
killed with SIGKILL, the standby takes over and converges a spec edit within 30 s."""

from __future__ import annotations

import time

from tests.integration.shared.conftest import COLLECTIONS_YAML, Shared, grants_yaml
from tests.reliability.polling import wait_for

USERS = [f"user{i:02}" for i in range(6)]


def test_only_the_leader_acts_and_the_standby_takes_over_after_kill_9(shared: Shared) -> None:
    shared.write("grants.yaml", grants_yaml(USERS))
    mark = shared.mark()
    first, second = shared.daemon("host-a"), shared.daemon("host-b")  # racing from the start
    shared.wait_rules({f"/disthome/{u}/" for u in USERS})
    wait_for(
        lambda: sorted([first.leading(), second.leading()]) == [False, True],
        limit=30,
        what="one leader and one standby",
    )
    leader, standby = (first, second) if first.leading() else (second, first)
    standby.wait_event("pass_finished")

    writes = shared.writes(mark)
    rule_creations = [w for w in writes if w["path"].endswith("/access") and w["method"] == "POST"]
    assert len(rule_creations) == len(USERS), rule_creations  # no second attempt from anyone
    assert [w for w in writes if w["status"] == 409] == []  # no Exists race
    assert standby.metric("reconciler_leader") == 0.0
    # A standby makes no Globus call at all (the leader's count shows the metric exists).
    assert leader.metric_sum("reconciler_globus_requests_total") > 0
    assert standby.metric_sum("reconciler_globus_requests_total") == 0
    assert standby.named("action_done") == []
    assert {e["result"] for e in standby.named("pass_finished")} == {"standby"}
    status, body = standby.get("/readyz")
    assert (status, body.strip()) == (200, "ok: standing by: another reconciler leads this target")
    assert standby.metric("reconciler_passes_total", result="standby") >= 1.0
    assert leader.get("/readyz")[0] == 200

    # An edit while both run: still only the leader acts.
    mark = shared.mark()
    shared.write("grants.yaml", grants_yaml([*USERS, "carol"]))
    shared.wait_rules({f"/disthome/{u}/" for u in [*USERS, "carol"]})
    assert len(shared.writes(mark)) == 2  # mkdir and the rule, once
    assert standby.named("action_done") == []

    leader.process.kill()  # SIGKILL: no chance to step down
    leader.process.wait()
    killed = time.monotonic()
    shared.write("grants.yaml", grants_yaml([*USERS, "carol", "dave"]))
    shared.wait_rules({f"/disthome/{u}/" for u in [*USERS, "carol", "dave"]}, limit=30)
    took = time.monotonic() - killed
    assert took < 30, took
    assert standby.named("leader_acquired")
    assert standby.leading()
    print(f"standby converged the edit {took:.1f} s after kill -9 of the leader")


def test_daemons_whose_specs_differ_by_a_group_still_have_one_leader(shared: Shared) -> None:
    """Host b has pulled a commit that declares a group, host a not yet: their targets
    differ, but both act on the same collection, so only one of them may lead."""
    shared.write("grants.yaml", grants_yaml(USERS[:2]))
    newer = shared.root / "specs-b"
    newer.mkdir()
    (newer / "collections.yaml").write_text(
        COLLECTIONS_YAML
        + "groups:\n  lab:\n    id: 5d1e5b9e-6c1a-4a51-9d1e-2f0b6c1d3e4f\n    members: additive\n"
    )
    (newer / "grants.yaml").write_text(grants_yaml(USERS[:2]))
    mark = shared.mark()
    first, second = shared.daemon("host-a"), shared.daemon("host-b", specs=newer)
    shared.wait_rules({f"/disthome/{u}/" for u in USERS[:2]})
    for daemon in (first, second):
        daemon.wait_event("pass_finished")
    for _ in range(3):  # and it stays that way
        assert sorted([first.leading(), second.leading()]) == [False, True]
        time.sleep(0.5)
    leader, standby = (first, second) if first.leading() else (second, first)
    assert {e["result"] for e in standby.named("pass_finished")} == {"standby"}
    assert standby.metric_sum("reconciler_globus_requests_total") == 0
    writes = shared.writes(mark)
    assert [w for w in writes if w["status"] == 409] == []
    assert leader.named("action_done")


def test_sigterm_hands_the_lead_over_at_once(shared: Shared) -> None:
    """A leader stopped with SIGTERM finishes its pass, gives its locks up cleanly (its
    lease record goes with them), so the standby need not wait out any lease."""
    shared.write("grants.yaml", grants_yaml(USERS[:1]))
    first = shared.daemon("host-a")
    first.wait_event("leader_acquired")
    second = shared.daemon("host-b")
    second.wait_event("pass_finished")
    assert second.named("leader_acquired") == []
    assert first.stop() == 0  # SIGTERM
    stopped = time.monotonic()
    second.wait_event("leader_acquired", limit=30)
    took = time.monotonic() - stopped
    assert took < 6, took  # its poll (3 s), not a lease (10 s)
    assert second.named("waiting_for_previous_holder") == []
    shared.write("grants.yaml", grants_yaml(USERS[:2]))
    shared.wait_rules({f"/disthome/{u}/" for u in USERS[:2]})
