"""Watch the spec paths and post a ``spec_change`` trigger when a spec file changes.

Uses watchfiles' Rust watcher (inotify on Linux) in a thread. Changes are grouped: a
burst of writes (an editor's save, a ``git pull``) yields one trigger once the files
have been quiet for ``quiet_ms``, at most ``debounce_ms`` after the first. Only spec
files (``*.yaml``/``*.yml``) and the spec paths themselves count. A spec path that does
not exist yet is looked for every few seconds and watched once it appears. The watcher
only says *that* something changed; it never reads a spec.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import structlog
from watchfiles._rust_notify import RustNotify

from reconciler.daemon.triggers import SPEC_CHANGE, Inbox

SPEC_SUFFIXES = (".yaml", ".yml")
DEBOUNCE_MS = 1000
QUIET_MS = 200
MISSING_RECHECK_MS = 5000
RESTART_DELAY = 5.0

log = structlog.get_logger("reconciler.daemon")


def compute_watch_roots(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(roots to watch, paths missing): existing paths made absolute, deduplicated and
    without those already under another root."""
    present = sorted({p.absolute() for p in paths if p.exists()})
    missing = sorted({p.absolute() for p in paths if not p.exists()})
    roots = [r for r in present if not any(r != o and r.is_relative_to(o) for o in present)]
    return roots, missing


def is_spec_change(changed: Path, *, spec_paths: Sequence[Path]) -> bool:
    """Whether a change at ``changed`` (absolute) may change the spec set."""
    for spec in spec_paths:
        root = spec.absolute()
        if changed == root:
            return True
        if changed.is_relative_to(root) and changed.suffix in SPEC_SUFFIXES:
            return True
    return False


def run_watcher(
    spec_paths: Sequence[Path],
    *,
    inbox: Inbox,
    stop: threading.Event,
    debounce_ms: int = DEBOUNCE_MS,
    quiet_ms: int = QUIET_MS,
    recheck_ms: int = MISSING_RECHECK_MS,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Post triggers until ``stop`` is set. A watcher error is logged and the watcher
    restarts after a pause: the periodic resync covers the gap."""
    appeared = False
    while not stop.is_set():
        roots, missing = compute_watch_roots(spec_paths)
        if missing:
            log.warning("spec_path_missing", paths=[str(p) for p in missing])
        # After a path appeared (or an error), trigger only once the new watch is in
        # place, so that no write in between is lost.
        ready = functools.partial(inbox.post, SPEC_CHANGE) if appeared else on_ready
        try:
            appeared = _watch(
                roots,
                missing,
                spec_paths=spec_paths,
                inbox=inbox,
                stop=stop,
                debounce_ms=debounce_ms,
                quiet_ms=quiet_ms,
                recheck_ms=recheck_ms,
                on_ready=ready,
            )
        except Exception as err:  # the loop must outlive a broken watcher
            log.warning("watch_failed", error=str(err), retry_in=RESTART_DELAY)
            stop.wait(RESTART_DELAY)
            appeared = True
        on_ready = None


def _watch(
    roots: list[Path],
    missing: list[Path],
    *,
    spec_paths: Sequence[Path],
    inbox: Inbox,
    stop: threading.Event,
    debounce_ms: int,
    quiet_ms: int,
    recheck_ms: int,
    on_ready: Callable[[], None] | None,
) -> bool:
    """Watch ``roots`` until stopped (False), or until a missing path appears (True: the
    caller rebuilds the watch with it)."""
    if not roots:
        if on_ready is not None:
            on_ready()
        while not stop.wait(recheck_ms / 1000):
            if any(p.exists() for p in missing):
                return True
        return False
    with RustNotify([str(r) for r in roots], False, False, 300, True, True) as notify:
        if on_ready is not None:
            on_ready()
        timeout = recheck_ms if missing else 0
        while True:
            changes = notify.watch(debounce_ms, quiet_ms, timeout, stop)
            if changes == "stop":
                return False
            if isinstance(changes, str):  # "timeout" (or "signal", only seen on the main thread)
                if any(p.exists() for p in missing):
                    return True
                continue
            if any(is_spec_change(Path(path), spec_paths=spec_paths) for _kind, path in changes):
                inbox.post(SPEC_CHANGE)


def start_watcher(
    spec_paths: Sequence[Path], *, inbox: Inbox, stop: threading.Event
) -> threading.Thread:
    """Run ``run_watcher`` in a daemon thread; return once it is watching."""
    ready = threading.Event()
    thread = threading.Thread(
        target=run_watcher,
        args=(spec_paths,),
        kwargs={"inbox": inbox, "stop": stop, "on_ready": ready.set},
        name="spec-watcher",
        daemon=True,
    )
    thread.start()
    ready.wait(timeout=10)
    return thread
