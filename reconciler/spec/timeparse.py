"""Instants and durations as the spec language writes them.

- An expiry is a date ``YYYY-MM-DD``, meaning 00:00:00 UTC at the *start* of that day
  (fail-safe: access never lasts longer than a reader of the spec might think), or a
  datetime ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` with ``Z`` or ``+hh:mm``. A datetime
  without a timezone is refused: its meaning would depend on the machine.
- A duration is ``<whole number><unit>`` with unit ``m`` (minutes), ``h``, ``d`` or ``w``.

The YAML reader hands timestamps over as their source text, so this module alone
decides what they mean. Pure functions; errors are ``SpecValueError`` with a hint.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from reconciler.spec.diagnostics import SpecValueError

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?(?P<tz>[Zz]|[+-]\d{2}:\d{2})?"
)
_DURATION = re.compile(r"([0-9]{1,9})([mhdw])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)
# Past a century a cap means nothing, and instants stay far from datetime's year 9999.
MAX_DURATION = timedelta(days=36500)

EXPIRY_FORMS = (
    "write a date `YYYY-MM-DD` (00:00 UTC at the start of that day) or a datetime with "
    "a timezone, e.g. `2027-01-31T00:00:00Z`"
)


@functools.lru_cache(maxsize=4096)  # spec sets repeat a few expiry dates many times
def parse_expiry(text: str) -> datetime:
    """The UTC instant ``text`` names; raises ``SpecValueError`` for anything else."""
    text = text.strip()
    if match := _DATE.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
        return _build(text, (year, month, day, 0, 0, 0, 0), "Z")
    if match := _DATETIME.fullmatch(text):
        year, month, day = (int(part) for part in match["date"].split("-"))
        tz = match["tz"]
        if tz is None:
            fixed = f"{match['date']}T{match['h']}:{match['m']}:{match['s'] or '00'}Z"
            raise SpecValueError(
                f"`{text}` has no timezone, so its meaning would depend on the machine",
                hint=f"write `{fixed}` for UTC, or add an offset such as `+01:00`",
            )
        micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
        hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
        return _build(text, (year, month, day, hour, minute, second, micro), tz)
    raise SpecValueError(f"`{text}` is not a date or a datetime", hint=EXPIRY_FORMS)


def _build(text: str, fields: tuple[int, int, int, int, int, int, int], tz: str) -> datetime:
    """The UTC instant of ``fields`` (year ... microsecond) read at offset ``tz``."""
    try:
        local = datetime(*fields, tzinfo=UTC)
        if tz.upper() == "Z":
            return local
        sign = 1 if tz[0] == "+" else -1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        if offset >= timedelta(hours=24):
            raise ValueError("the offset must be less than 24 hours")
        return (local - sign * offset).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise SpecValueError(f"`{text}` is not a real instant: {exc}", hint=EXPIRY_FORMS) from exc


def parse_duration(text: str) -> timedelta:
    """The length ``text`` names (``30d``); raises ``SpecValueError`` for anything else."""
    hint = "write a whole number and a unit: m (minutes), h, d or w, e.g. `30d`"
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise SpecValueError(f"`{text}` is not a duration", hint=hint)
    count = int(match[1])
    if count == 0:
        raise SpecValueError(f"`{text}` is zero: nothing could ever be granted", hint=hint)
    if count > MAX_DURATION // _UNITS[match[2]]:
        raise SpecValueError(f"`{text}` is longer than the longest duration, 36500d")
    return count * _UNITS[match[2]]


def format_instant(instant: datetime) -> str:
    """``2027-01-31T00:00:00Z``: the form a spec would use, in UTC."""
    utc = instant.astimezone(UTC)
    text = utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")
