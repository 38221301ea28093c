"""CI and the daemon agree when they share a PostgreSQL store: after the daemon has
revoked a grant its user downloaded, a CI ``plan`` from another directory finds
nothing to do (a private store would re-grant it), and a CI ``apply`` writes nothing.
The store is really in PostgreSQL: its tables exist and no file is named after the URL.
"""

from __future__ import annotations

import signal

import psycopg

from tests.integration.shared.conftest import COLLECTION, Shared, grants_yaml
from tests.reliability.polling import wait_for


def test_a_ci_plan_sharing_the_store_does_not_regrant_a_consumed_grant(shared: Shared) -> None:
    shared.write("grants.yaml", grants_yaml(["alice"], revoke_after_download=True))
    daemon = shared.daemon("daemon-host")
    daemon.wait_event("leader_acquired")
    shared.wait_rules({"/disthome/alice/"})

    control = shared.sandbox.control
    control.add_files(COLLECTION, ["/disthome/alice/data.bin", "/disthome/alice/notes.txt"])
    control.advance_clock(5)  # downloads count only after the rule was created
    control.simulate_download("alice@example.org", COLLECTION, "/disthome/alice/")
    daemon.signal(signal.SIGHUP)
    shared.wait_rules(set())
    wait_for(lambda: "consumed" in shared.journal_events(), limit=30, what="consumed journalled")
    assert daemon.stop() == 0

    private = shared.cli(
        "ci-private",
        "plan",
        "--sandbox",
        "--detailed-exitcode",
        str(shared.specs),
        shared_store=False,
    )
    assert private.returncode == 2, private.stdout + private.stderr  # the problem solved here
    assert "create rule" in private.stdout

    mark = shared.mark()
    plan = shared.cli("ci-runner", "plan", "--sandbox", "--detailed-exitcode", str(shared.specs))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout
    applied = shared.cli("ci-runner", "apply", "--sandbox", "--auto-approve", str(shared.specs))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "No changes" in applied.stdout
    assert shared.writes(mark) == []
    assert shared.rules() == {}

    for home in ("daemon-host", "ci-runner"):
        leftovers = [p.name for p in shared.home(home).rglob("*") if "postgres" in p.name]
        assert leftovers == [], leftovers  # the URL was never taken for a file name
        assert not (shared.home(home) / "state" / "state.db").exists()
        assert not (shared.home(home) / "state" / "sandbox-state.db").exists()
    with psycopg.connect(shared.store_url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema ="
                " current_schema()"
            )
        }
        consumed = conn.execute("SELECT count(*) FROM consumed").fetchone()
    assert {"stagings", "consumed", "journal", "made_directories", "schema_migrations"} <= tables
    assert consumed == (1,)
