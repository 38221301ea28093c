"""``reconciler apply`` holds the target's apply lock: two applies at once run one after
the other (the second waits, plans afresh and finds the work done), so a staging is
submitted once and no rule is created twice; an apply that cannot get the lock within
``--lock-timeout`` refuses and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.credentials import SANDBOX_CLIENT_ID
from reconciler.locking import apply_lock_names, compute_target_resources
from reconciler.spec import load_spec_set
from reconciler.state import open_store
from tests.integration.shared.conftest import Shared, grants_yaml

SOURCE = "0b3c5e1a-9f0e-4b61-8b0a-5e7d0c2f4a11"

STAGED = f"""
distributions:
  - name: run42
    collection: tutorial
    path: /disthome/run42/{{identity_id}}/
    stage: {{collection: {SOURCE}, path: /datasets/run42/}}
    grants:
      - identity: bob@example.org
        expires: 2027-06-30
"""


def staging_tasks(shared: Shared) -> list[dict[str, object]]:
    return [
        t
        for t in shared.sandbox.control.dump()["tasks"]
        if t["type"] == "TRANSFER" and str(t.get("label", "")).startswith("reconciler staging")
    ]


def test_two_applies_at_once_are_serialized(shared: Shared) -> None:
    shared.write("grants.yaml", grants_yaml(["alice", "carol"]))
    shared.write("staged.yaml", STAGED)
    shared.cli("seed", "plan", "--sandbox", str(shared.specs))  # seeds the sandbox
    # Slow writes keep the first apply inside its lock while the second arrives.
    shared.sandbox.control.inject_fault(
        method="POST", path=r"/(access|mkdir|transfer)$", latency_ms=400
    )
    mark = shared.mark()
    runs = [
        shared.start_cli(f"ci-{n}", "apply", "--sandbox", "--auto-approve", str(shared.specs))
        for n in (1, 2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    waited = [o for o in outputs if "for the apply lock" in o]
    assert len(waited) == 1, outputs  # exactly one of them found the lock taken
    assert "stage data" not in waited[0]  # it planned after the first had finished
    assert len(staging_tasks(shared)) == 1
    writes = shared.writes(mark)
    assert [w for w in writes if w["status"] == 409] == []
    creations = [w for w in writes if w["method"] == "POST" and w["path"].endswith("/access")]
    assert len(creations) == 2  # alice and carol, once each
    assert set(shared.rules()) == {"/disthome/alice/", "/disthome/carol/"}


def test_an_apply_refuses_when_the_lock_stays_taken(shared: Shared) -> None:
    shared.write("grants.yaml", grants_yaml(["alice"]))
    intent = load_spec_set([shared.specs], now=datetime.now(UTC)).intent
    assert intent is not None
    store = open_store(shared.store_url)
    lock = store.target_lock(*apply_lock_names(compute_target_resources(SANDBOX_CLIENT_ID, intent)))
    assert lock.try_acquire()  # a daemon's pass, say
    try:
        mark = shared.mark()
        result = shared.cli(
            "ci", "apply", "--sandbox", "--auto-approve", "--lock-timeout", "1", str(shared.specs)
        )
    finally:
        lock.release()
        store.close()
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: another reconciler holds this target's apply lock")
    assert "waited 1 s and applied nothing" in message
    assert "Traceback" not in result.stderr
    assert [w for w in shared.writes(mark) if "/access" in w["path"]] == []
    assert shared.rules() == {}

    plan = shared.cli("ci", "plan", "--sandbox", "--detailed-exitcode", str(shared.specs))
    assert plan.returncode == 2, plan.stderr  # plan takes no lock
