"""The daemon process: wires the loop, the spec watcher, signals, systemd notification,
the watchdog and the metrics endpoint around one ``Reconciler``, and runs until SIGTERM.

Threads: the reconcile loop runs in its own thread; the main thread only receives
signals (through ``signalling``, whichever thread the kernel delivered them to) and acts
on them, until the loop has finished. SIGTERM/SIGINT set the stop event, which ``apply_plan``
honours (actions in flight finish, no new one starts); SIGHUP asks for a pass; SIGUSR1
and SIGUSR2 suspend and resume. Deciding what a pass does is not this module's job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import structlog

from reconciler.daemon.alerting import Alerter
from reconciler.daemon.alerts import DEFAULT_EXPIRY_WARNING
from reconciler.daemon.clock import Clock, SystemClock
from reconciler.daemon.console import Console
from reconciler.daemon.health import Health
from reconciler.daemon.identities import run_identity_refresher
from reconciler.daemon.leading import LEADERSHIP, Leadership
from reconciler.daemon.looping import Loop
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.notifying import SystemdNotifier, compute_watchdog_interval, run_watchdog
from reconciler.daemon.observing import Observatory
from reconciler.daemon.passes import PassSettings, PassTarget, Reconciler
from reconciler.daemon.reports import PassReport, compute_summary
from reconciler.daemon.scheduling import Schedule, Wake
from reconciler.daemon.serving import RunningServer, start_http_server
from reconciler.daemon.signalling import LOOP_EXITED, SignalChannel
from reconciler.daemon.suspending import Suspension
from reconciler.daemon.triggers import IDENTITY_CHANGE, RESUME, SIGHUP, STOP, SUSPEND, Inbox
from reconciler.daemon.watching import start_watcher
from reconciler.daemon.webhooks import WebhookSender
from reconciler.state import JournalQuery

log = structlog.get_logger("reconciler.daemon")


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    settings: PassSettings
    schedule: Schedule = field(default_factory=Schedule)
    suspend_file: Path | None = None
    metrics_address: str | None = None
    """``host:port`` for /metrics, /healthz and /readyz; None serves nothing."""
    watch: bool = True
    """Watch the spec paths; tests post triggers to ``Daemon.inbox`` instead."""
    notify_webhooks: tuple[str, ...] = field(default=(), repr=False)
    """URLs to POST notifications to (they carry secrets: never shown whole)."""
    expiry_warning: timedelta = DEFAULT_EXPIRY_WARNING
    """The daily digest lists what expires within this."""
    control_token: str | None = field(default=None, repr=False)
    """The bearer token control requests must carry (``--control-token-file``); None
    serves control on a loopback address only."""


class Daemon:
    def __init__(
        self,
        config: DaemonConfig,
        target: PassTarget,
        *,
        clock: Clock | None = None,
        notifier: SystemdNotifier | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.inbox = Inbox()
        self.stop_event = threading.Event()
        self.signals = SignalChannel()
        """Signal numbers to act on, from the kernel or from tests (``send``)."""
        self.notifier = notifier if notifier is not None else SystemdNotifier.from_environ()
        self._environ = os.environ if environ is None else environ
        self.suspension = Suspension(config.suspend_file)
        self.health = Health(resync=config.schedule.resync)
        self.metrics = DaemonMetrics(
            requests=target.clients.stats.snapshot, resync=config.schedule.resync
        )
        self.fence = threading.Event()
        """Set while this process may start no Globus write: stopping, not leading, or
        the lead was lost during the current pass. Lowered only at the top of a pass
        that leads (``Leadership.turn``), under ``_fence_mutex`` so a SIGTERM arriving
        at that moment is never undone."""
        self.fence.set()
        self._fence_mutex = threading.Lock()
        self.leadership = Leadership(
            target.store,
            client_id=target.clients.caller_id,
            on_change=self._leadership_changed,
            wake=lambda: self.inbox.post(LEADERSHIP),
            arm=self._lower_fence,
        )
        clock = clock or SystemClock()
        self.observatory = Observatory(
            clock=clock,
            suspension=self.suspension,
            role=lambda: "leader" if self.leadership.leading else "standby",
            history=lambda n: target.store.read_journal(JournalQuery(limit=n)),
        )
        self.console = Console(
            observatory=self.observatory,
            suspension=self.suspension,
            inbox=self.inbox,
            clock=clock,
            token=config.control_token,
        )
        self.sender = WebhookSender(config.notify_webhooks)
        self.alerter = Alerter(
            observatory=self.observatory,
            sender=self.sender,
            expiry_warning=config.expiry_warning,
        )
        self.reconciler = Reconciler(
            target,
            config.settings,
            clock=clock,
            stop=self.fence,
            on_progress=self.health.beat,
            watcher=self.observatory,
            turn=self.leadership.turn,
        )
        self.loop = Loop(
            run_pass=self.reconciler.run_pass,
            clock=clock,
            inbox=self.inbox,
            stop=self.stop_event,
            suspension=self.suspension,
            schedule=config.schedule,
            observers=(
                self.metrics.observe,
                self.health.observe,
                self.observatory.observe,
                *((self.alerter.observe,) if config.notify_webhooks else ()),
                self._report_to_systemd,
            ),
            on_pass_start=self._pass_started,
        )
        self._ready_sent = False
        self.server: RunningServer | None = None

    def run(self, *, install_signals: bool = True) -> int:
        """Run until stopped; returns the exit code: 0 after a requested stop, 1 when the
        loop ended on its own."""
        if self.config.metrics_address:
            self.server = start_http_server(
                self.config.metrics_address,
                metrics=self.metrics.render,
                health=self.health,
                app=self.console,
            )
        self.sender.start()
        watchdog_stop = threading.Event()
        interval = compute_watchdog_interval(self._environ, os.getpid())
        if interval is not None and self.notifier.enabled:
            threading.Thread(
                target=run_watchdog,
                args=(self.notifier,),
                kwargs={
                    "interval": interval,
                    "alive": lambda: self.health.check_alive().ok,
                    "stop": watchdog_stop,
                },
                name="systemd-watchdog",
                daemon=True,
            ).start()
        if self.config.watch:
            start_watcher(self.config.settings.paths, inbox=self.inbox, stop=self.stop_event)
        threading.Thread(
            target=run_identity_refresher,
            args=(self.reconciler.identities,),
            kwargs={"stop": self.stop_event, "on_change": lambda: self.inbox.post(IDENTITY_CHANGE)},
            name="identity-refresh",
            daemon=True,
        ).start()
        log.info(
            "daemon_started",
            paths=[str(p) for p in self.config.settings.paths],
            resync=self.config.schedule.resync,
            metrics=self.server.url if self.server else None,
            suspend_file=str(self.config.suspend_file) if self.config.suspend_file else None,
            watchdog_interval=interval,
            webhooks=self.sender.targets,
            control="token" if self.config.control_token else "loopback only",
        )
        self.leadership.start()
        loop_thread = threading.Thread(target=self._run_loop, name="reconcile-loop")
        routing = self.signals.routing_signals() if install_signals else contextlib.nullcontext()
        try:
            with routing:
                loop_thread.start()
                self._dispatch_signals()
            loop_thread.join()
            requested = self.stop_event.is_set()
        finally:
            with self._fence_mutex:
                self.stop_event.set()
                self.fence.set()
            self.leadership.stop()
            watchdog_stop.set()
            self.notifier.stopping()
            self.notifier.close()
            if self.server is not None:
                self.server.stop()
            self.sender.stop()
            self.signals.close()
            log.info("daemon_stopped")
        if not requested:
            # Only a BaseException escaping the loop gets here; let systemd restart us.
            log.error("loop_exited_unexpectedly")
            return 1
        return 0

    def _dispatch_signals(self) -> None:
        while True:
            for number in self.signals.receive():
                if number == LOOP_EXITED:
                    return
                self.handle(number)

    def handle(self, signum: int) -> None:
        """Act on one signal (called on the main thread, outside the handler)."""
        name = signal.Signals(signum).name
        if signum in (signal.SIGTERM, signal.SIGINT):
            if self.stop_event.is_set():
                log.info("already_stopping", signal=name)
                return
            log.info("stop_requested", signal=name, note="actions in flight finish first")
            self.notifier.stopping("stopping: finishing actions in flight")
            with self._fence_mutex:
                self.stop_event.set()
                self.fence.set()
            self.inbox.post(STOP)
        elif signum == signal.SIGHUP:
            log.info("pass_requested", signal=name)
            self.inbox.post(SIGHUP)
        elif signum == signal.SIGUSR1:
            self.suspension.suspend()
            self.inbox.post(SUSPEND)
        elif signum == signal.SIGUSR2:
            self.suspension.resume()
            self.inbox.post(RESUME)

    def _pass_started(self) -> None:
        self.health.pass_started()
        self.observatory.pass_started()

    def _run_loop(self) -> None:
        self.health.loop_started()
        try:
            self.loop.run()
        except BaseException:  # SystemExit from a library, say: log it, run() returns 1
            log.exception("loop_crashed")
        finally:
            self.health.loop_exited()
            self.signals.send(LOOP_EXITED)

    def _leadership_changed(self, leading: bool) -> None:
        self.metrics.leader.set(1 if leading else 0)
        if not leading:
            with self._fence_mutex:
                self.fence.set()  # actions in flight finish; none starts

    def _lower_fence(self) -> None:
        """At the top of a pass that leads: its actions may start, unless stopping."""
        with self._fence_mutex:
            if not self.stop_event.is_set():
                self.fence.clear()

    def _report_to_systemd(self, report: PassReport, wake: Wake | None) -> None:
        status = compute_summary(report, wake)
        if not self._ready_sent and not self.stop_event.is_set():
            self._ready_sent = True
            self.notifier.ready(status)
        else:
            self.notifier.status(status)
