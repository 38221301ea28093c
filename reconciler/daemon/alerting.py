"""After each pass, work out what to announce (``alerts``, pure) from the daemon's own
snapshot and hand it to the ``WebhookSender`` (which never blocks). The loop's observer;
it runs after the ``Observatory`` has recorded the pass. It decides nothing itself.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import structlog

from reconciler import __version__
from reconciler.daemon.alerts import (
    DEFAULT_EXPIRY_WARNING,
    AlertState,
    compute_digest,
    compute_pass_alerts,
    render_payload,
)
from reconciler.daemon.observing import Observatory
from reconciler.daemon.reports import PassReport
from reconciler.daemon.scheduling import Wake
from reconciler.daemon.webhooks import WebhookSender

log = structlog.get_logger("reconciler.daemon")


class Alerter:
    def __init__(
        self,
        *,
        observatory: Observatory,
        sender: WebhookSender,
        expiry_warning: timedelta = DEFAULT_EXPIRY_WARNING,
        host: str | None = None,
    ) -> None:
        self._observatory = observatory
        self._sender = sender
        self._warning = expiry_warning
        self._host = host or socket.gethostname()
        self.state = AlertState()

    def observe(self, report: PassReport, _wake: Wake | None) -> None:
        if report.result == "suspended":
            return
        snapshot = self._observatory.load_snapshot(history_rows=0)
        self.state, events = compute_pass_alerts(self.state, snapshot)
        if snapshot.planned_at is not None and snapshot.last_pass is not None:
            self.state, digest = compute_digest(
                self.state, snapshot.expiries, now=snapshot.now, warning=self._warning
            )
            if digest is not None:
                events += (digest,)
        for event in events:
            log.info("notification_queued", kind=event.kind, targets=self._sender.targets)
            self._sender.send(render_payload(event, host=self._host, version=__version__))
