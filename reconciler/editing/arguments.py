"""What an edit request says, parsed: principals, expiries, durations. Pure.

A principal is written the way a person types it: ``alice@example.org`` or an identity
UUID, ``group:<name or UUID>``, ``public:all_authenticated_users`` or
``public:anonymous``. An expiry is either absolute (a date, meaning 00:00 UTC that day,
or a datetime with a timezone) or a duration from *now* (``14d``) that is turned into an
absolute UTC instant, in whole seconds, when the edit is computed: specs never hold a
relative time. Bad input raises ``BadArgument`` with a hint; nothing here reads a file
or the clock (``now`` is always passed in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from reconciler.editing.errors import BadArgument
from reconciler.spec.diagnostics import SpecValueError, did_you_mean
from reconciler.spec.fields import is_uuid
from reconciler.spec.timeparse import format_instant, parse_duration, parse_expiry

PrincipalKind = Literal["identity", "group", "public"]
PUBLIC_VALUES = ("all_authenticated_users", "anonymous")
PRINCIPAL_FORMS = (
    "write a username with `@` (alice@example.org), an identity UUID, "
    "`group:<name or UUID>`, `public:all_authenticated_users` or `public:anonymous`"
)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a grant is for: ``kind`` is also the spec key (``identity``, ``group``,
    ``public``) and ``value`` its value as it will be written."""

    kind: PrincipalKind
    value: str

    def __str__(self) -> str:
        return self.value if self.kind == "identity" else f"{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class Expiry:
    """An absolute expiry: the UTC instant, and the text written into the spec."""

    instant: datetime
    text: str


def compute_principal(text: str) -> Principal:
    """The principal ``text`` names; raises ``BadArgument`` when it names none."""
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if sep and kind in ("group", "public", "identity"):
        if kind == "group":
            return Principal("group", _group_ref(rest.strip(), text))
        if kind == "public":
            return Principal("public", _public_ref(rest.strip(), text))
        text = rest.strip()
    return Principal("identity", _identity_ref(text))


def compute_identity(text: str) -> str:
    """An identity as written in a spec: a username (with ``@``) or a lower-cased UUID."""
    return _identity_ref(text.strip())


def compute_group_ref(text: str) -> str:
    """A group as written in a spec: a declared name or a lower-cased UUID."""
    text = text.strip()
    return _group_ref(text.removeprefix("group:").strip(), text)


def _identity_ref(text: str) -> str:
    if is_uuid(text):
        return text.lower()
    if "@" in text and not text.startswith("@") and not text.endswith("@"):
        if any(ch.isspace() or not ch.isprintable() for ch in text):
            raise BadArgument(f"username `{text}` contains spaces or control characters")
        return text
    hint = PRINCIPAL_FORMS
    if _NAME.fullmatch(text):
        hint = f"for a group write `group:{text}`; otherwise {PRINCIPAL_FORMS}"
    raise BadArgument(f"`{text}` is neither a username nor an identity UUID", hint=hint)


def _group_ref(value: str, written: str) -> str:
    if is_uuid(value):
        return value.lower()
    if _NAME.fullmatch(value):
        return value
    raise BadArgument(
        f"`{written}` does not name a group",
        hint="write `group:` and a declared group name (e.g. `group:tutorial-users`) "
        "or a group UUID",
    )


def _public_ref(value: str, written: str) -> str:
    if value in PUBLIC_VALUES:
        return value
    raise BadArgument(
        f"`{written}` is not a public principal",
        hint=did_you_mean(value, PUBLIC_VALUES)
        or "write `public:all_authenticated_users` or `public:anonymous`",
    )


def compute_duration(value: str | timedelta, *, what: str = "duration") -> timedelta:
    """A positive length of time from ``30d`` (units m, h, d, w) or a ``timedelta``."""
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise BadArgument(f"the {what} must be positive, not {value}")
        return value
    try:
        return parse_duration(value)
    except SpecValueError as exc:
        raise BadArgument(exc.message, hint=exc.hint) from exc


def compute_expiry(
    *,
    expires: str | date | datetime | None,
    duration: str | timedelta | None,
    now: datetime,
) -> Expiry:
    """The absolute expiry an edit writes, from exactly one of ``expires`` (a date, a
    datetime with a timezone, or their text) and ``duration`` (counted from ``now``)."""
    if (expires is None) == (duration is None):
        raise BadArgument(
            "give exactly one of an expiry date and a duration",
            hint="e.g. `--expires 2027-01-31`, `--expires 2027-01-31T12:00:00Z` or `--for 14d`",
        )
    if duration is not None:
        instant = now.astimezone(UTC).replace(microsecond=0) + compute_duration(duration)
        return Expiry(instant, format_instant(instant))
    if isinstance(expires, datetime):
        if expires.tzinfo is None or expires.utcoffset() is None:
            raise BadArgument(
                f"the expiry {expires.isoformat()} has no timezone",
                hint="pass a timezone-aware datetime, e.g. datetime(..., tzinfo=UTC)",
            )
        instant = expires.astimezone(UTC)
        return Expiry(instant, format_instant(instant))
    if isinstance(expires, date):
        instant = datetime(expires.year, expires.month, expires.day, tzinfo=UTC)
        return Expiry(instant, expires.isoformat())
    assert expires is not None
    try:
        instant = parse_expiry(expires)
    except SpecValueError as exc:
        raise BadArgument(exc.message, hint=exc.hint) from exc
    text = expires.strip()
    return Expiry(instant, text if _DATE_ONLY.fullmatch(text) else format_instant(instant))
