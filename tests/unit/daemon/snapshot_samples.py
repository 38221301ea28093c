"""A plain ``DaemonSnapshot`` for renderer tests, with hostile text where users control
it (usernames and paths are untrusted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.daemon.snapshots import (
    ChangeRow,
    CollectionView,
    DaemonSnapshot,
    ExpiryRow,
    GrantRow,
    GroupView,
    HistoryRow,
    MembershipRow,
    PassRecord,
    ProblemRow,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVIL_USER = "identity:<script>alert(1)</script>@evil.org"
EVIL_PATH = '/disthome/"><img src=x onerror=alert(2)>/'


def sample_snapshot(**changes: object) -> DaemonSnapshot:
    alice_expires = NOW + timedelta(days=3, hours=2)
    evil_expires = NOW + timedelta(days=40)
    fields: dict[str, object] = {
        "now": NOW,
        "version": "9.9.9",
        "role": "leader",
        "suspended": None,
        "in_pass": False,
        "passes_started": 2,
        "passes": (
            PassRecord(
                2,
                "bbbb2222",
                "blocked",
                NOW - timedelta(seconds=30),
                NOW - timedelta(seconds=29),
                1.25,
                0,
                0,
                0,
                "the deletion guard refused",
            ),
            PassRecord(
                1,
                "aaaa1111",
                "success",
                NOW - timedelta(minutes=10),
                NOW - timedelta(minutes=9),
                0.5,
                3,
                0,
                0,
            ),
        ),
        "next_wake": NOW + timedelta(minutes=5),
        "next_wake_reason": "resync",
        "spec_valid": True,
        "diagnostics": (),
        "planned_at": NOW - timedelta(seconds=30),
        "collections": (
            CollectionView(
                "petrel",
                (
                    GrantRow(
                        "identity:alice@example.org",
                        "/disthome/alice/",
                        "r",
                        alice_expires,
                        "in force",
                    ),
                    GrantRow(
                        EVIL_USER,
                        EVIL_PATH,
                        "rw",
                        evil_expires,
                        "to be revoked (not applied): not in any spec",
                    ),
                ),
                2,
                (
                    ChangeRow(
                        "delete_rule",
                        f"petrel:{EVIL_PATH} rw for {EVIL_USER}",
                        "not in any spec",
                        "not applied",
                    ),
                ),
            ),
        ),
        "groups": (
            GroupView(
                "tutorial",
                (
                    MembershipRow(
                        "identity:bob@example.org", NOW + timedelta(days=100), "member (active)"
                    ),
                ),
                1,
            ),
        ),
        "expiries": (
            ExpiryRow(
                alice_expires, "rule", "petrel:/disthome/alice/", "identity:alice@example.org"
            ),
            ExpiryRow(evil_expires, "rule", f"petrel:{EVIL_PATH}", EVIL_USER),
            ExpiryRow(
                NOW + timedelta(days=100), "membership", "tutorial", "identity:bob@example.org"
            ),
        ),
        "problems": (
            ProblemRow("blocked", "the deletion guard refused: 1 prune > 0", None),
            ProblemRow("grant", "identity 'x<y>' is not known", "specs/grants.yaml:12:7"),
        ),
        "history": (
            HistoryRow(
                NOW - timedelta(minutes=9),
                "create_rule",
                "petrel:/disthome/alice/",
                "identity:alice@example.org",
                "granted by distribution 'run42'",
                "done",
            ),
        ),
    }
    fields.update(changes)
    return DaemonSnapshot(**fields)  # type: ignore[arg-type]
