"""``reconciler run``: the daemon. Parses options, configures logging, opens the target
(starting an in-process sandbox on port 8765 with ``--sandbox``) and hands over to
``reconciler.daemon.service``. Exit code 0 after a clean stop (SIGTERM/SIGINT), 1 when
it cannot start (bad options, no credentials, metrics port taken).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
import structlog

from reconciler.cli.conventions import colour_disabled
from reconciler.cli.options import (
    clock_option,
    fail,
    guard_options,
    paths_or_default,
    reported,
    spec_paths,
    target_options,
)
from reconciler.core.plan import GuardPolicy
from reconciler.credentials import load_credentials, require_renewable
from reconciler.daemon.passes import PassSettings
from reconciler.daemon.remote import load_token
from reconciler.daemon.scheduling import Schedule
from reconciler.daemon.service import Daemon, DaemonConfig
from reconciler.daemon.serving import DEFAULT_METRICS_ADDRESS, compute_bind_address
from reconciler.daemon.webhooks import check_webhook_url, compute_safe_url
from reconciler.globus.retrying import RetryNotice
from reconciler.logs import configure_logging
from reconciler.sandbox.embedded import start_sandbox
from reconciler.sandbox.store import resolve_db_path
from reconciler.spec.diagnostics import SpecValueError
from reconciler.spec.timeparse import parse_duration
from reconciler.targeting import TargetOptions, open_target, state_dir

SANDBOX_URL_ENV = "RECONCILER_SANDBOX_URL"
SANDBOX_PORT = 8765
"""Where ``run --sandbox`` serves its in-process sandbox, so that
``RECONCILER_SANDBOX_URL=http://127.0.0.1:8765 reconciler sandbox show`` finds it."""

log = structlog.get_logger("reconciler.daemon")


@contextmanager
def _sandbox_for_run(enabled: bool) -> Iterator[None]:
    """With ``--sandbox`` and no ``$RECONCILER_SANDBOX_URL``: serve the sandbox in this
    process on the fixed port (a free one if it is taken) and point the target at it."""
    if not enabled or os.environ.get(SANDBOX_URL_ENV):
        yield
        return
    db_path = resolve_db_path()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        running = start_sandbox(db_path, port=SANDBOX_PORT)
    except OSError as err:
        log.warning("sandbox_port_taken", port=SANDBOX_PORT, error=err.strerror or str(err))
        running = start_sandbox(db_path, port=0)
    os.environ[SANDBOX_URL_ENV] = running.url
    log.info(
        "sandbox_started",
        url=running.url,
        db=str(db_path),
        inspect=f"{SANDBOX_URL_ENV}={running.url} reconciler sandbox show",
    )
    try:
        yield
    finally:
        os.environ.pop(SANDBOX_URL_ENV, None)
        running.stop()


@click.command("run")
@spec_paths
@target_options
@guard_options
@clock_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Actions in flight at once (all share the --rate budget).",
)
@click.option(
    "--resync",
    type=click.FloatRange(min=1.0),
    default=300.0,
    show_default=True,
    envvar="RECONCILER_RESYNC",
    show_envvar=True,
    metavar="SECONDS",
    help="Re-check Globus against drift this often (varied by up to 10%).",
)
@click.option(
    "--suspend-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="RECONCILER_SUSPEND_FILE",
    show_envvar=True,
    help="While this file exists no pass runs [default: <state dir>/suspended].",
)
@click.option(
    "--metrics-address",
    default=DEFAULT_METRICS_ADDRESS,
    show_default=True,
    envvar="RECONCILER_METRICS_ADDRESS",
    show_envvar=True,
    metavar="HOST:PORT",
    help="Serve /metrics, /healthz, /readyz, the dashboard (/) and the control API here; "
    "'' or 'off' serves nothing.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    envvar="RECONCILER_LOG_FORMAT",
    show_envvar=True,
    help="auto: readable on a terminal, JSON lines otherwise (journald).",
)
@click.option(
    "--no-watch",
    is_flag=True,
    help="Do not watch the spec files; rely on the resync timer and SIGHUP.",
)
@click.option(
    "--control-token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="RECONCILER_CONTROL_TOKEN_FILE",
    show_envvar=True,
    help="Require this bearer token for `reconciler daemon suspend|resume|reconcile` "
    "(without it they are served on a loopback address only).",
)
@click.option(
    "--notify-webhook",
    "notify_webhooks",
    multiple=True,
    envvar="RECONCILER_NOTIFY_WEBHOOK",
    show_envvar=True,
    metavar="URL",
    help="POST a JSON event (Slack/Mattermost compatible) here when a pass is blocked or "
    "fails, on recovery, and a daily expiry digest; repeatable (the variable takes "
    "several, space-separated).",
)
@click.option(
    "--expiry-warning",
    default="7d",
    show_default=True,
    metavar="DURATION",
    help="The daily digest lists grants and memberships expiring within this (e.g. 14d).",
)
@reported
def run_command(
    *,
    paths: tuple[Path, ...],
    target: TargetOptions,
    guard: GuardPolicy,
    max_clock_skew: timedelta,
    concurrency: int,
    resync: float,
    suspend_file: Path | None,
    metrics_address: str,
    log_format: str,
    no_watch: bool,
    control_token_file: Path | None,
    notify_webhooks: tuple[str, ...],
    expiry_warning: str,
) -> None:
    """Keep Globus matching the specs: a pass on every spec change, every --resync
    seconds against drift, and exactly at each expiry. SIGHUP runs a pass now;
    SIGUSR1/SIGUSR2 suspend and resume; SIGTERM finishes the actions in flight and exits.
    """
    if metrics_address.strip().lower() in ("", "off", "none"):
        metrics_address = ""
    else:
        try:
            compute_bind_address(metrics_address)
        except ValueError as err:
            fail(f"--metrics-address: {err}")
    for url in notify_webhooks:
        why = check_webhook_url(url)
        if why is not None:
            fail(f"--notify-webhook: {compute_safe_url(url)} {why}")
    try:
        warning = parse_duration(expiry_warning)
    except SpecValueError as err:
        fail(f"--expiry-warning: {err}")
    token = load_token(control_token_file)
    if not target.sandbox:  # hub tokens expire and cannot be renewed: refuse them now
        require_renewable(load_credentials(secret_file=target.secret_file), command="run")
    configure_logging(
        as_json={"auto": None, "json": True, "console": False}[log_format],
        colors=not colour_disabled(),
    )
    target = dataclasses.replace(target, on_retry=log_retry)
    config = DaemonConfig(
        settings=PassSettings(
            paths=tuple(paths_or_default(paths)),
            guard=guard,
            concurrency=concurrency,
            max_clock_skew=max_clock_skew,
        ),
        schedule=Schedule(resync=resync),
        suspend_file=suspend_file if suspend_file is not None else state_dir() / "suspended",
        metrics_address=metrics_address or None,
        watch=not no_watch,
        notify_webhooks=notify_webhooks,
        expiry_warning=warning,
        control_token=token,
    )
    with (
        _sandbox_for_run(target.sandbox),
        open_target(target) as opened,
    ):
        try:
            daemon = Daemon(config, opened)
            code = daemon.run()
        except OSError as err:
            fail(f"cannot start the daemon: {err.strerror or err}")
    sys.exit(code)


def log_retry(notice: RetryNotice) -> None:
    structlog.get_logger("reconciler.globus").warning(
        "globus_retry",
        service=notice.service,
        host=notice.host,
        cause=notice.cause,
        attempt=notice.attempt,
        retries=notice.retries,
    )


COMMANDS = [run_command]
