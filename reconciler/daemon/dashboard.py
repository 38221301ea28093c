"""The dashboard at ``/``: one server-rendered HTML page from a ``DaemonSnapshot``.

Pure: ``render_dashboard(snapshot)`` returns the page as text. The template
(``templates/dashboard.html``) is rendered by Jinja2 with autoescaping on, so every
username, path, reason and error is escaped wherever it lands; nothing is marked safe.
The page has no script, loads nothing from elsewhere (styles inline, the expiry timeline
inline SVG computed in ``timeline``), and ``CONTENT_SECURITY_POLICY`` forbids the rest.
"""

from __future__ import annotations

import functools
from datetime import datetime

import jinja2

from reconciler.daemon.snapshots import DaemonSnapshot
from reconciler.daemon.timeline import compute_timeline
from reconciler.rendering.describing import format_time, time_left

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""No script, no frame, nothing from another origin; the inline stylesheet only."""
EXPIRY_ROWS = 20

_RESULT_CLASSES = {"success": "ok", "invalid_spec": "warn", "blocked": "bad", "failed": "bad"}


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reconciler.daemon", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["instant"] = format_time
    env.globals["result_class"] = lambda result: _RESULT_CLASSES.get(result, "")
    return env


def render_dashboard(snapshot: DaemonSnapshot) -> str:
    """The whole page for ``snapshot``; times left are counted from ``snapshot.now``."""

    def left(until: datetime | None) -> str:
        return time_left(until, snapshot.now)

    template = _environment().get_template("dashboard.html")
    return template.render(
        s=snapshot,
        t=compute_timeline(snapshot.expiries, snapshot.now),
        left=left,
        expiry_rows=EXPIRY_ROWS,
    )
