"""One function per behaviour the probe observes. Each makes a few calls through the
session (so every path stays in the run directory and every rule is tracked) and
returns an ``Observation``; an unexpected Globus answer is caught by the session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.core.probe import (
    Observation,
    classify_source_path,
    error_outcome,
    not_probed,
    observed,
)
from reconciler.errors import GlobusError
from reconciler.probing.session import ProbeSession

MAX_SAMPLE_BYTES = 64 * 1024 * 1024
COPY_WAIT = 120.0
"""Service seconds the probe waits for its copy to finish."""
GLOBUS_RULE_LIMIT = 1000
RULE_LIMIT_MARGIN = 5


@dataclass(frozen=True, slots=True)
class Expiring:
    rule_id: str
    path: str
    expires: datetime


def refused(name: str, err: GlobusError) -> Observation:
    return observed(
        name,
        f"refused: {err.http_status} {err.code}",
        **error_outcome(err.http_status, err.code, err.message),
    )


def _refusal_of(name: str, call: Callable[[], object], *, accepted: str) -> Observation:
    try:
        call()
    except GlobusError as err:
        return refused(name, err)
    return observed(name, accepted, outcome="accepted")


def start_expiry(s: ProbeSession) -> Expiring | None:
    """Create the rule that expires ``expiry_lead`` seconds from now (Globus's time)."""
    path = s.path("expiry/")
    try:
        s.port.mkdir(path)
        lead = timedelta(seconds=s.options.expiry_lead)
        expires = (s.clock.now() + lead).replace(microsecond=0)
        s.say(f"creating a rule that expires at {expires.isoformat()}")
        return Expiring(s.create(path, expires), path, expires)
    except GlobusError as err:
        s.observations["rule_expiry"] = Observation(
            "rule_expiry",
            "error",
            f"could not create the expiring rule: {err}",
            error_outcome(err.http_status, err.code, err.message),
        )
        return None


def finish_expiry(s: ProbeSession, expiring: Expiring) -> Observation:
    """Watch the rule from its expiry until ``settle`` seconds later."""
    if not s.sleep_until(expiring.expires + timedelta(seconds=1)):
        return Observation(
            "rule_expiry",
            "unsettled",
            "out of time before the rule expired (raise --max-wait)",
            {"expiration_date": expiring.expires.isoformat()},
        )
    settled = expiring.expires + timedelta(seconds=s.options.settle)
    poll = s.options.settle if s.clock.simulated else s.options.poll_seconds
    while True:
        listed = next((r for r in s.port.list_rules() if r.get("id") == expiring.rule_id), None)
        after = round((s.clock.now() - expiring.expires).total_seconds())
        if listed is None:
            s.rules.remove(expiring.rule_id)
            return observed(
                "rule_expiry",
                f"deleted: gone from the access list {after} s after its expiration_date",
                outcome="deleted",
                seconds_after_expiry=after,
            )
        if s.clock.now() >= settled or s.remaining() <= 0:
            return _kept(s, expiring, listed, after)
        s.sleep_until(min(settled, s.clock.now() + timedelta(seconds=poll)))


def _kept(s: ProbeSession, expiring: Expiring, listed: dict[str, Any], after: int) -> Observation:
    try:
        s.create(expiring.path, expiring.expires + timedelta(days=1))
        recreate = "created (an expired listed rule does not block a new one)"
    except GlobusError as err:
        recreate = f"{err.http_status} {err.code}"
    return observed(
        "rule_expiry",
        f"kept listed {after} s after its expiration_date",
        outcome="kept_listed",
        seconds_after_expiry=after,
        listed_expiration_date=listed.get("expiration_date"),
        recreate_while_listed=recreate,
    )


def duplicate_rule(s: ProbeSession, expiring: Expiring | None) -> Observation:
    if expiring is None:
        return not_probed("duplicate_rule", "the first rule could not be created")
    return _refusal_of(
        "duplicate_rule",
        lambda: s.create(expiring.path, expiring.expires),
        accepted="a second rule was created for the same principal and path",
    )


def rule_without_slash(s: ProbeSession) -> Observation:
    s.port.mkdir(s.path("noslash/"))
    path = s.path("noslash")
    try:
        rule_id = s.create(path)
    except GlobusError as err:
        return refused("rule_path_without_trailing_slash", err)
    stored = s.port.get_rule_path(rule_id)
    return observed(
        "rule_path_without_trailing_slash",
        f"accepted; Globus stored the path as {stored!r}",
        outcome="accepted",
        sent_path=path,
        stored_path=stored,
    )


def rule_on_missing_directory(s: ProbeSession) -> Observation:
    try:
        s.create(s.path("absent/"))
    except GlobusError as err:
        return refused("rule_on_missing_directory", err)
    return observed(
        "rule_on_missing_directory",
        "accepted a rule on a directory that does not exist",
        outcome="accepted",
    )


def delete_missing_rule(s: ProbeSession) -> Observation:
    path = s.path("deleted/")
    s.port.mkdir(path)
    rule_id = s.create(path)
    s.delete(rule_id)
    try:
        s.port.delete_rule(rule_id)
    except GlobusError as err:
        return refused("delete_missing_rule", err)
    return observed(
        "delete_missing_rule", "deleting a deleted rule succeeded again", outcome="accepted"
    )


def mkdir_existing(s: ProbeSession) -> Observation:
    return _refusal_of(
        "mkdir_existing",
        lambda: s.port.mkdir(s.path("expiry/")),
        accepted="mkdir of an existing directory succeeded",
    )


def mkdir_missing_parent(s: ProbeSession) -> Observation:
    return _refusal_of(
        "mkdir_missing_parent",
        lambda: s.port.mkdir(s.path("missing/child/")),
        accepted="mkdir created the missing parent too (recursive)",
    )


def source_path(s: ProbeSession) -> Observation:
    """Copy a small file from the scratch directory into the run directory and read
    back, through activity monitoring, how Globus wrote its ``source_path``."""
    sample = next(
        (
            e
            for e in s.scratch_entries
            if e.get("type") == "file" and int(e.get("size") or 0) <= MAX_SAMPLE_BYTES
        ),
        None,
    )
    if sample is None:
        return not_probed(
            "source_path",
            "no file of at most 64 MiB directly in the scratch directory: put a small "
            "file there to probe this",
        )
    source = f"{s.port.scratch}{sample['name']}"
    task_id = s.port.submit_copy(source, s.path(f"copy/{sample['name']}"))
    status = s.wait_task(task_id, service_seconds=COPY_WAIT, real_deadline=s.deadline)
    if status != "SUCCEEDED":
        return Observation(
            "source_path",
            "unsettled",
            f"the copy (task {task_id}) ended {status}, so there is no history to read",
            {"task_id": task_id, "task_status": status},
        )
    try:
        paths = s.port.manager_source_paths(task_id)
    except GlobusError as err:
        if err.http_status in (401, 403):
            return not_probed(
                "source_path",
                f"activity monitoring was refused ({err}): the activity_monitor role "
                "on the collection is needed",
            )
        raise
    if not paths:
        return Observation("source_path", "unsettled", "the task reported no transferred file")
    form, prefix = classify_source_path(paths[0], source)
    return observed(
        "source_path",
        f"source_path is {form} ({paths[0]!r} for {source!r})",
        form=form,
        reported=paths[0],
        sent=source,
        prefix=prefix,
        task_id=task_id,
    )


def rule_limit(s: ProbeSession) -> Observation:
    """On the sandbox, lower its limit to one more rule than exist; on real Globus (only
    with ``--probe-rule-limit``) create rules until the limit answers."""
    if s.limits is None and not s.options.probe_rule_limit:
        return not_probed(
            "rule_limit",
            f"reaching the limit means creating up to {GLOBUS_RULE_LIMIT} rules (and "
            "as many deletes) on this collection; pass --probe-rule-limit to do it",
        )
    existing = sum(1 for rule in s.port.list_rules() if rule.get("id"))
    lowered = s.limits is not None
    if lowered:
        s.lower_rule_limit(existing + 1)
        budget = 2
    else:
        budget = max(0, GLOBUS_RULE_LIMIT - existing) + RULE_LIMIT_MARGIN
    s.say(f"{existing} rules exist; creating up to {budget} more")
    # Where Globus refuses rules on missing directories, each rule gets its own.
    missing = s.observations.get("rule_on_missing_directory")
    needs_directory = missing is None or missing.outcome.get("outcome") != "accepted"
    try:
        for index in range(budget):
            if s.remaining() <= 0:
                return Observation(
                    "rule_limit",
                    "unsettled",
                    f"out of time after {index} more rules ({existing + index} in all)",
                    {"rules": existing + index},
                )
            path = s.path(f"limit/{index:04d}/")
            if needs_directory:
                s.port.mkdir(path)
            try:
                s.create(path)
            except GlobusError as err:
                found = refused("rule_limit", err)
                return observed(
                    "rule_limit",
                    f"{found.summary} at rule {existing + index + 1}",
                    **found.outcome,
                    rules_before=existing + index,
                    lowered_limit=lowered,
                )
    finally:
        s.restore_rule_limit()
    return observed(
        "rule_limit",
        f"no limit reached at {existing + budget} rules",
        outcome="accepted",
        rules_before=existing + budget,
    )
