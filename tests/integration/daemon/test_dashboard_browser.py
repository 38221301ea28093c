"""The dashboard in a real browser: Debian's Chromium, headless, renders the page of a
running daemon on the sandbox, and the DOM it built shows the grantees and their expiry
dates. ``make test`` installs Chromium when it is missing (``make browser``); without it
this test fails, with one line saying so: it is never skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("RECONCILER_CHROMIUM", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


class Cells(HTMLParser):
    """The text of each table row of the rendered DOM, cell by cell."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def dump_dom(url: str, profile: Path) -> str:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"{CHROMIUM} is not installed: run `make browser` (apt-get install -y chromium)"
        )
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_headless_chromium_renders_the_grantees_and_their_expiry_dates(
    kit: Any, start_daemon: Any, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    alice, bob = now + timedelta(days=12), now + timedelta(days=45)
    specs = tmp_path / "specs"
    kit.write_specs(specs, {"alice": alice, "bob": bob})
    running = start_daemon(specs, metrics_address="127.0.0.1:0")
    kit.wait_for(lambda: len(kit.rules()) == 2)
    kit.wait_for(lambda: running.daemon.observatory.load_snapshot().passes)

    dom = dump_dom(running.daemon.server.url + "/", tmp_path / "chromium-profile")

    rows = Cells(dom).rows
    grants = [r for r in rows if len(r) == 6 and r[0].startswith("identity:")]
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in grants] == [
        (
            "identity:alice@example.org",
            "/disthome/alice/",
            "r",
            f"{alice:%Y-%m-%d %H:%M:%S}Z",
            "in force",
        ),
        (
            "identity:bob@example.org",
            "/disthome/bob/",
            "r",
            f"{bob:%Y-%m-%d %H:%M:%S}Z",
            "in force",
        ),
    ]
    assert grants[0][4].startswith(("11d", "12d"))  # time left
    # the timeline: one bar on each expiry day, drawn by the browser from inline SVG
    assert f'data-date="{alice:%Y-%m-%d}"' in dom
    assert f'data-date="{bob:%Y-%m-%d}"' in dom
    assert "<script" not in dom
    assert running.stop() == 0
