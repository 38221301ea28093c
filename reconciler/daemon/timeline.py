"""The expiry timeline of the dashboard: expiries of the coming days binned per day and
laid out as SVG geometry (bars, axis ticks, hover titles). Pure arithmetic on plain
rows; the template only draws what is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.daemon.snapshots import ExpiryRow

DAYS = 90
WIDTH = 900
HEIGHT = 150
MARGIN_LEFT = 30
MARGIN_BOTTOM = 22
MARGIN_TOP = 8
MARGIN_RIGHT = 24
NAMES_PER_BAR = 8


@dataclass(frozen=True, slots=True)
class Bar:
    day: int
    date: str
    count: int
    x: float
    y: float
    width: float
    height: float
    title: str
    """The hover text: the day, the count and the first few grantees."""


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class Timeline:
    days: int
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_bottom: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    peak: int
    """The tallest bar's count (the y axis goes from 0 to this)."""
    within: int
    """Expiries within the window."""
    later: int
    """Expiries after the window."""


def compute_timeline(
    expiries: Sequence[ExpiryRow],
    now: datetime,
    *,
    days: int = DAYS,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Timeline:
    """Day ``d`` holds the expiries on the UTC calendar date ``d`` days after today's;
    the axis is labelled with the date at every 15th day."""
    per_day: dict[int, list[ExpiryRow]] = {}
    later = 0
    today = now.astimezone(UTC).date()
    for row in expiries:
        if row.at < now:
            continue
        day = (row.at.astimezone(UTC).date() - today).days
        if day >= days:
            later += 1
            continue
        per_day.setdefault(day, []).append(row)
    plot_width = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = height - MARGIN_BOTTOM - MARGIN_TOP
    step = plot_width / days
    peak = max((len(rows) for rows in per_day.values()), default=0)
    bars = []
    for day, rows in sorted(per_day.items()):
        bar_height = max(2.0, plot_height * len(rows) / peak)
        date = (today + timedelta(days=day)).isoformat()
        names = [f"{r.principal} ({r.where})" for r in rows[:NAMES_PER_BAR]]
        if len(rows) > NAMES_PER_BAR:
            names.append(f"and {len(rows) - NAMES_PER_BAR} more")
        noun = "expiry" if len(rows) == 1 else "expiries"
        bars.append(
            Bar(
                day=day,
                date=date,
                count=len(rows),
                x=round(MARGIN_LEFT + day * step + 0.5, 2),
                y=round(MARGIN_TOP + plot_height - bar_height, 2),
                width=round(max(1.0, step - 1.0), 2),
                height=round(bar_height, 2),
                title="\n".join([f"{date}: {len(rows)} {noun}", *names]),
            )
        )
    ticks = tuple(
        Tick(round(MARGIN_LEFT + day * step, 2), (today + timedelta(days=day)).strftime("%b %d"))
        for day in range(0, days + 1, 15)
    )
    return Timeline(
        days=days,
        width=width,
        height=height,
        plot_left=MARGIN_LEFT,
        plot_right=width - MARGIN_RIGHT,
        plot_bottom=MARGIN_TOP + plot_height,
        bars=tuple(bars),
        ticks=ticks,
        peak=peak,
        within=sum(len(rows) for rows in per_day.values()),
        later=later,
    )
