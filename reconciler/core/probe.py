"""What ``reconciler probe`` observes and what the docs assume: the pure half.

Each behaviour has a name, the assumption our docs (docs/semantics.md, docs/sandbox.md)
make about it, and a predicate saying whether an observed outcome agrees. The probe's
I/O (``reconciler.probing``) produces ``Observation`` values; ``compute_agreement``
judges them. Outcomes are plain JSON-able mappings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ObservationStatus = Literal["observed", "not_probed", "unsettled", "error"]
Outcome = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Assumption:
    text: str
    agrees: Callable[[Outcome], bool]


def _answered(status: int, code: str) -> Callable[[Outcome], bool]:
    return lambda o: o.get("http_status") == status and o.get("code") == code


ASSUMPTIONS: Mapping[str, Assumption] = {
    "rule_expiry": Assumption(
        "at its expiration_date a rule is either deleted or kept listed but inert; the "
        "reconciler handles both (semantics.md, Expiry); the sandbox keeps it by default",
        lambda o: o.get("outcome") in ("deleted", "kept_listed"),
    ),
    "duplicate_rule": Assumption(
        "creating a rule that exists answers 409 Exists; the reconciler adopts the rule",
        _answered(409, "Exists"),
    ),
    "rule_path_without_trailing_slash": Assumption(
        "a rule path without a trailing slash is refused with 400 InvalidPath (the "
        "sandbox's choice; the reconciler always sends one)",
        _answered(400, "InvalidPath"),
    ),
    "rule_on_missing_directory": Assumption(
        "a rule may name a directory that does not exist (sandbox, UNCONFIRMED 8); the "
        "reconciler makes the directory first anyway",
        lambda o: o.get("outcome") == "accepted",
    ),
    "delete_missing_rule": Assumption(
        "deleting a rule that is gone answers 404 AccessRuleNotFound; the reconciler "
        "counts it as done",
        _answered(404, "AccessRuleNotFound"),
    ),
    "mkdir_existing": Assumption(
        "mkdir of an existing directory answers 502 ExternalError.MkdirFailed.Exists; the "
        "reconciler counts it as done (any code ending in 'Exists' is)",
        lambda o: str(o.get("code") or "").endswith("Exists"),
    ),
    "mkdir_missing_parent": Assumption(
        "mkdir under a missing parent fails with a code containing 'NotFound' (sandbox: "
        "404 ClientError.NotFound); the reconciler then makes the parent first",
        lambda o: "NotFound" in str(o.get("code") or ""),
    ),
    "rule_limit": Assumption(
        "creating a rule beyond the collection's limit (1000) answers 409 LimitExceeded "
        "(the sandbox's choice; UNCONFIRMED)",
        _answered(409, "LimitExceeded"),
    ),
    "source_path": Assumption(
        "successful_transfers report source_path in the guest collection's namespace (the "
        "sandbox) or with the host path in front; the reconciler accepts both",
        lambda o: o.get("form") in ("collection_relative", "host_relative"),
    ),
}
BEHAVIOURS: tuple[str, ...] = tuple(ASSUMPTIONS)


@dataclass(frozen=True, slots=True)
class Observation:
    behaviour: str
    status: ObservationStatus
    summary: str
    outcome: Outcome = field(default_factory=dict)


def observed(behaviour: str, summary: str, **outcome: Any) -> Observation:
    return Observation(behaviour, "observed", summary, outcome)


def not_probed(behaviour: str, reason: str) -> Observation:
    return Observation(behaviour, "not_probed", reason)


def compute_agreement(observation: Observation) -> bool | None:
    """True or False for an observed behaviour; None when nothing was observed."""
    if observation.status != "observed":
        return None
    return ASSUMPTIONS[observation.behaviour].agrees(observation.outcome)


def error_outcome(http_status: int | None, code: str | None, message: str) -> dict[str, Any]:
    return {"outcome": "refused", "http_status": http_status, "code": code, "message": message}


def classify_source_path(reported: str, sent: str) -> tuple[str, str | None]:
    """How Globus wrote a file's ``source_path`` compared with the collection path the
    transfer named: ``collection_relative``, ``host_relative`` (with the prefix in
    front), or ``other``."""
    if reported == sent:
        return "collection_relative", None
    if reported.endswith(sent) and len(reported) > len(sent):
        return "host_relative", reported[: len(reported) - len(sent)]
    return "other", None


def complete(observations: Mapping[str, Observation], *, reason: str) -> tuple[Observation, ...]:
    """Every behaviour in ``BEHAVIOURS`` order; those never reached get ``reason``."""
    return tuple(observations.get(name) or not_probed(name, reason) for name in BEHAVIOURS)
