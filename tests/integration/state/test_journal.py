"""The audit journal on both backends: order, and every ``history`` filter in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.state import JournalEntry, JournalQuery, SqlStateStore

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def entry(minutes: int, event: str, where: str, principal: str) -> JournalEntry:
    return JournalEntry(
        at=T0 + timedelta(minutes=minutes),
        event=event,
        where=where,
        principal=principal,
        reason="because",
        detail=f"detail {minutes}",
        pass_id=f"pass{minutes}",
        status="done",
    )


ENTRIES = (
    entry(0, "create_rule", "petrel:/disthome/alice/", "Alice@Example.org"),
    entry(1, "create_rule", "petrel:/disthome/john_doe/", "john_doe@example.org"),
    entry(2, "add_member", "dot-omics", "johnXdoe@example.org"),
    entry(3, "delete_rule", "tutorial:/disthome/bob/", "bob@example.org"),
    entry(4, "consumed", "petrel:/disthome/alice/", "alice@example.org"),
)


@pytest.fixture
def journal(store: SqlStateStore) -> SqlStateStore:
    for item in ENTRIES:
        store.append_journal(item)
    return store


def events(store: SqlStateStore, **filters: object) -> list[int]:
    return [
        int(e.pass_id.removeprefix("pass")) for e in store.read_journal(JournalQuery(**filters))
    ]  # type: ignore[arg-type]


def test_entries_come_back_whole_and_in_order(journal: SqlStateStore) -> None:
    assert journal.read_journal(JournalQuery()) == list(ENTRIES)


def test_principal_is_a_case_insensitive_substring_and_wildcards_are_literal(
    journal: SqlStateStore,
) -> None:
    assert events(journal, principal="alice@example.org") == [0, 4]
    assert events(journal, principal="john_doe") == [1]  # `_` is not a wildcard
    assert events(journal, principal="%") == []


def test_where_is_a_name_prefix(journal: SqlStateStore) -> None:
    assert events(journal, where="petrel") == [0, 1, 4]
    assert events(journal, where="PETREL:/disthome/alice") == [0, 4]
    assert events(journal, where="dot-omics") == [2]
    assert events(journal, where="disthome") == []


def test_since_until_and_limit(journal: SqlStateStore) -> None:
    assert events(journal, since=T0 + timedelta(minutes=1)) == [1, 2, 3, 4]
    assert events(journal, until=T0 + timedelta(minutes=1)) == [0]
    assert events(journal, since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)) == [
        1,
        2,
    ]
    assert events(journal, limit=2) == [3, 4]  # the most recent, still oldest first
    assert events(journal, where="petrel", limit=2) == [1, 4]
    assert events(journal, since=T0 + timedelta(hours=1)) == []
