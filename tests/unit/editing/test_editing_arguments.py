"""Principals, expiries and durations as a gateway or a person types them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from reconciler.editing.arguments import (
    Expiry,
    Principal,
    compute_duration,
    compute_expiry,
    compute_principal,
)
from reconciler.editing.errors import BadArgument

NOW = datetime(2026, 11, 26, 14, 3, 7, 999999, tzinfo=UTC)
UUID = "e56c36e4-1063-11e6-a747-22000bf2d559"


@pytest.mark.parametrize(
    ("text", "principal"),
    [
        ("alice@example.org", Principal("identity", "alice@example.org")),
        ("  alice@example.org ", Principal("identity", "alice@example.org")),
        ("identity:alice@example.org", Principal("identity", "alice@example.org")),
        (UUID.upper(), Principal("identity", UUID)),
        ("group:tutorial-users", Principal("group", "tutorial-users")),
        (f"group:{UUID.upper()}", Principal("group", UUID)),
        ("public:anonymous", Principal("public", "anonymous")),
        ("public:all_authenticated_users", Principal("public", "all_authenticated_users")),
    ],
)
def test_principals(text: str, principal: Principal) -> None:
    assert compute_principal(text) == principal


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("alice", "neither a username nor an identity UUID", "group:alice"),
        ("", "neither a username", "identity UUID"),
        ("@example.org", "neither a username", "alice@example.org"),
        ("al ice@example.org", "spaces or control characters", None),
        ("group:", "does not name a group", "group UUID"),
        ("group:Tutorial Users", "does not name a group", None),
        ("public:anonymus", "not a public principal", "did you mean `anonymous`?"),
    ],
)
def test_bad_principals_say_what_to_write(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(BadArgument) as caught:
        compute_principal(text)
    assert message in caught.value.message
    if hint:
        assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("expires", "duration", "expiry"),
    [
        (None, "14d", Expiry(datetime(2026, 12, 10, 14, 3, 7, tzinfo=UTC), "2026-12-10T14:03:07Z")),
        (
            None,
            "90m",
            Expiry(datetime(2026, 11, 26, 15, 33, 7, tzinfo=UTC), "2026-11-26T15:33:07Z"),
        ),
        (None, "2w", Expiry(datetime(2026, 12, 10, 14, 3, 7, tzinfo=UTC), "2026-12-10T14:03:07Z")),
        (
            None,
            timedelta(hours=1),
            Expiry(datetime(2026, 11, 26, 15, 3, 7, tzinfo=UTC), "2026-11-26T15:03:07Z"),
        ),
        ("2027-01-31", None, Expiry(datetime(2027, 1, 31, tzinfo=UTC), "2027-01-31")),
        (
            "2027-01-31T12:00:00+01:00",
            None,
            Expiry(datetime(2027, 1, 31, 11, tzinfo=UTC), "2027-01-31T11:00:00Z"),
        ),
        (
            "2027-01-31 12:00Z",
            None,
            Expiry(datetime(2027, 1, 31, 12, tzinfo=UTC), "2027-01-31T12:00:00Z"),
        ),
        (date(2027, 1, 31), None, Expiry(datetime(2027, 1, 31, tzinfo=UTC), "2027-01-31")),
        (
            datetime(2027, 1, 31, 12, tzinfo=timezone(timedelta(hours=-5))),
            None,
            Expiry(datetime(2027, 1, 31, 17, tzinfo=UTC), "2027-01-31T17:00:00Z"),
        ),
    ],
)
def test_expiries_are_absolute_utc(
    expires: str | date | None, duration: str | timedelta | None, expiry: Expiry
) -> None:
    assert compute_expiry(expires=expires, duration=duration, now=NOW) == expiry


@pytest.mark.parametrize(
    ("expires", "duration", "message"),
    [
        (None, None, "exactly one"),
        ("2027-01-01", "1d", "exactly one"),
        (None, "1y", "not a duration"),
        (None, "0h", "is zero"),
        (None, "36501d", "longer than the longest duration"),
        (None, timedelta(0), "must be positive"),
        ("2027-02-30", None, "not a real instant"),
        ("2027-01-01T00:00", None, "no timezone"),
        (datetime(2027, 1, 1), None, "no timezone"),  # naive: the point of the test
    ],
)
def test_bad_expiries(expires: object, duration: object, message: str) -> None:
    with pytest.raises(BadArgument, match=message):
        compute_expiry(expires=expires, duration=duration, now=NOW)  # type: ignore[arg-type]


def test_durations() -> None:
    assert compute_duration("30d") == timedelta(days=30)
    with pytest.raises(BadArgument, match="age must be positive"):
        compute_duration(timedelta(seconds=-1), what="age")
