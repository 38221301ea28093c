"""Single values of the language, table-driven: expiries, durations, path syntax."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.fields import check_path_syntax, is_uuid
from reconciler.spec.timeparse import format_instant, parse_duration, parse_expiry

EXPIRIES = {
    "2027-01-31": datetime(2027, 1, 31, tzinfo=UTC),
    "2027-01-31T00:00:00Z": datetime(2027, 1, 31, tzinfo=UTC),
    "2027-01-31t10:15z": datetime(2027, 1, 31, 10, 15, tzinfo=UTC),
    "2027-01-31 10:15:30Z": datetime(2027, 1, 31, 10, 15, 30, tzinfo=UTC),
    "2027-01-31T10:15:30.5Z": datetime(2027, 1, 31, 10, 15, 30, 500000, tzinfo=UTC),
    "2027-01-31T10:15:30.1234567Z": datetime(2027, 1, 31, 10, 15, 30, 123456, tzinfo=UTC),
    "2027-01-31T01:00:00+02:00": datetime(2027, 1, 30, 23, tzinfo=UTC),
    "2027-01-31T23:30:00-05:30": datetime(2027, 2, 1, 5, tzinfo=UTC),
}


@pytest.mark.parametrize(("text", "instant"), EXPIRIES.items())
def test_expiry_forms(text: str, instant: datetime) -> None:
    assert parse_expiry(text) == instant


BAD_EXPIRIES = {
    "2027-01-31T00:00:00": "has no timezone",
    "2027-01-31 08:00": "has no timezone",
    "2027-13-01": "not a real instant",
    "2027-02-29": "not a real instant",
    "0000-01-01": "not a real instant",
    "9999-12-31T23:00:00-05:00": "not a real instant",
    "2027-01-31T00:00:00+24:00": "not a real instant",
    "2027-1-5": "not a date or a datetime",
    "20270131": "not a date or a datetime",
    "2027-01-31T00:00:00+0200": "not a date or a datetime",
    "tomorrow": "not a date or a datetime",
    "": "not a date or a datetime",
}


@pytest.mark.parametrize(("text", "fragment"), BAD_EXPIRIES.items())
def test_bad_expiries(text: str, fragment: str) -> None:
    with pytest.raises(SpecValueError, match=fragment) as raised:
        parse_expiry(text)
    assert raised.value.hint


def test_naive_datetime_hint_is_the_fixed_text() -> None:
    with pytest.raises(SpecValueError) as raised:
        parse_expiry("2027-01-31 08:00")
    assert raised.value.hint is not None
    assert "`2027-01-31T08:00:00Z`" in raised.value.hint


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("90m", timedelta(minutes=90)),
        ("36h", timedelta(hours=36)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
        ("36500d", timedelta(days=36500)),
    ],
)
def test_durations(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize(
    "text", ["0d", "30", "d", "-1d", "1.5d", "30 d", "1y", "36501d", "9" * 12 + "m"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(SpecValueError):
        parse_duration(text)


def test_format_instant_round_trips() -> None:
    for instant in EXPIRIES.values():
        assert parse_expiry(format_instant(instant)) == instant


GOOD_PATHS = [
    "/",
    "/disthome/",
    "/a b/c-d_e.f/",
    "/dist/ünï/",
    "/x/{identity_id}/",
    "/x/run-{distribution}/",
]
BAD_PATHS = {
    "": "must start with `/`",
    "disthome/": "must start with `/`",
    "/disthome": "must end with `/`",
    "//": "empty segment",
    "/a//b/": "empty segment",
    "/a/./b/": "`.` or `..`",
    "/a/../b/": "`.` or `..`",
    "/../": "`.` or `..`",
    "/a\\b/": "backslash",
    "/a\x00b/": "control character",
    "/a\nb/": "control character",
    "/a/{user}/": "unknown placeholder",
    "/a/{identity_id/": "unmatched",
    "/a/identity_id}/": "unmatched",
    "/a/{}/": "unknown placeholder",
}


@pytest.mark.parametrize("path", GOOD_PATHS)
def test_good_paths(path: str) -> None:
    assert check_path_syntax(path, placeholders=True) == path


@pytest.mark.parametrize(("path", "fragment"), BAD_PATHS.items())
def test_bad_paths(path: str, fragment: str) -> None:
    with pytest.raises(SpecValueError, match=fragment):
        check_path_syntax(path, placeholders=True)


def test_placeholders_only_where_allowed() -> None:
    with pytest.raises(SpecValueError, match="contains a placeholder") as raised:
        check_path_syntax("/x/{distribution}/", placeholders=False)
    assert "only for grant and distribution paths" in str(raised.value.hint)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e56c36e4-1063-11e6-a747-22000bf2d559", True),
        ("E56C36E4-1063-11E6-A747-22000BF2D559", True),
        ("e56c36e4106311e6a74722000bf2d559", False),
        ("{e56c36e4-1063-11e6-a747-22000bf2d559}", False),
        ("e56c36e4-1063-11e6-a747-22000bf2d55", False),
        ("g56c36e4-1063-11e6-a747-22000bf2d559", False),
    ],
)
def test_uuid_form(text: str, expected: bool) -> None:
    assert is_uuid(text) is expected
