"""The dashboard, the status text and the snapshot JSON, rendered from plain snapshots."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from reconciler.daemon.dashboard import render_dashboard
from reconciler.daemon.snapshots import (
    ExpiryRow,
    parse_snapshot_json,
    render_snapshot_json,
)
from reconciler.daemon.status_text import render_status_text
from reconciler.daemon.timeline import compute_timeline
from tests.unit.daemon.snapshot_samples import EVIL_PATH, EVIL_USER, NOW, sample_snapshot


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser would parse them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_the_page_shows_grants_expiries_passes_history_and_problems() -> None:
    page = render_dashboard(sample_snapshot())
    parsed = Elements(page)
    text = "".join(parsed.text)
    assert "identity:alice@example.org" in text
    assert "/disthome/alice/" in text
    assert "2026-03-04 14:00:00Z" in text  # alice's expiry
    assert "3d 2h" in text  # and the time she has left
    assert "specs/grants.yaml:12:7" in text  # a problem with its location
    assert "the deletion guard refused" in text
    assert "bbbb2222" in text
    assert "aaaa1111" in text
    assert "granted by distribution 'run42'" in text  # history
    assert "identity:bob@example.org" in text
    assert "member (active)" in text
    assert "not in any spec" in text  # drift, with its outcome
    assert "not applied" in text


def test_untrusted_text_is_escaped_everywhere_and_there_is_no_script() -> None:
    page = render_dashboard(sample_snapshot())
    parsed = Elements(page)
    # The hostile username and path come through as text, never as markup.
    assert parsed.named("script") == []
    assert parsed.named("img") == []
    assert all("onerror" not in attrs for _tag, attrs in parsed.tags)
    text = "".join(parsed.text)
    assert EVIL_USER in text
    assert EVIL_PATH in text
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    # nothing is loaded from anywhere: no external reference at all
    assert parsed.named("link") == []
    assert not [
        a
        for _t, a in parsed.tags
        if any(k in a for k in ("src", "href"))
        and any(str(v).startswith(("http:", "https:", "//")) for v in a.values())
    ]


def test_the_timeline_bins_expiries_per_day_for_90_days() -> None:
    rows = [
        ExpiryRow(NOW + timedelta(hours=1), "rule", "c:/a/", "identity:a"),
        ExpiryRow(NOW + timedelta(hours=11), "rule", "c:/b/", "identity:b"),  # same date
        ExpiryRow(NOW + timedelta(days=10, hours=3), "membership", "g", "identity:c"),
        ExpiryRow(NOW + timedelta(days=89, hours=11), "rule", "c:/d/", "identity:d"),
        ExpiryRow(NOW + timedelta(days=90), "rule", "c:/e/", "identity:e"),  # after the window
        ExpiryRow(NOW - timedelta(days=1), "rule", "c:/f/", "identity:f"),  # already past
    ]
    timeline = compute_timeline(rows, NOW)
    assert [(b.day, b.date, b.count) for b in timeline.bars] == [
        (0, "2026-03-01", 2),
        (10, "2026-03-11", 1),
        (89, "2026-05-29", 1),
    ]
    assert (timeline.within, timeline.later, timeline.peak) == (4, 1, 2)
    first, second, last = timeline.bars
    assert first.height > second.height  # taller for more expiries
    assert first.x < second.x < last.x <= timeline.plot_right
    assert "identity:a (c:/a/)" in first.title
    assert "identity:b (c:/b/)" in first.title
    assert [t.label for t in timeline.ticks][:2] == ["Mar 01", "Mar 16"]


def test_the_timeline_is_drawn_as_inline_svg_with_a_title_per_bar() -> None:
    parsed = Elements(render_dashboard(sample_snapshot()))
    bars = [a for a in parsed.named("rect") if a.get("class") == "bar"]
    assert [(b["data-date"], b["data-count"]) for b in bars] == [
        ("2026-03-04", "1"),
        ("2026-04-10", "1"),
    ]
    assert len(parsed.named("svg")) == 1


def test_snapshot_json_round_trips() -> None:
    snapshot = sample_snapshot()
    assert parse_snapshot_json(render_snapshot_json(snapshot)) == snapshot


def test_status_text_shows_the_last_pass_wake_validity_problems_and_expiries() -> None:
    text = render_status_text(
        sample_snapshot(suspended="the flag file /var/lib/reconciler/suspended exists")
    )
    lines = text.splitlines()
    assert (
        lines[0]
        == "daemon      leader, SUSPENDED: the flag file /var/lib/reconciler/suspended exists"
    )
    assert lines[1].startswith("last pass   blocked at 2026-03-01 11:59:31Z (0m 29s ago) in 1.2s")
    assert "the deletion guard refused" in text
    assert "next wake   2026-03-01 12:05:00Z (resync; in 5m 0s)" in text
    assert "specs       valid" in text
    assert "problem     grant: specs/grants.yaml:12:7: identity 'x<y>' is not known" in text
    assert "2026-03-04 14:00:00Z  in 3d 2h" in text


def test_status_text_before_any_pass_and_with_invalid_specs() -> None:
    text = render_status_text(
        sample_snapshot(
            passes=(),
            in_pass=True,
            spec_valid=False,
            expiries=(),
            planned_at=None,
            diagnostics=("specs/a.yaml:3:1: error: unknown field 'grnts'",),
            problems=(),
        )
    )
    assert "last pass   in progress (the first)" in text
    assert "specs       INVALID: the last valid spec set stays in force" in text
    assert "specs/a.yaml:3:1: error: unknown field 'grnts'" in text
    assert "expiries    none upcoming (no plan yet)" in text


def test_status_text_says_a_wake_up_that_has_come_is_due_not_expired() -> None:
    text = render_status_text(sample_snapshot(next_wake=NOW - timedelta(seconds=2)))
    assert "next wake   2026-03-01 11:59:58Z (resync; due now)" in text
