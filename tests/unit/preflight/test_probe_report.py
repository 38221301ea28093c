"""What the probe concludes from what it saw: agreement with the docs, source paths."""

from __future__ import annotations

import pytest

from reconciler.core.probe import (
    ASSUMPTIONS,
    BEHAVIOURS,
    Observation,
    classify_source_path,
    complete,
    compute_agreement,
    error_outcome,
    not_probed,
    observed,
)


@pytest.mark.parametrize(
    ("behaviour", "outcome", "agrees"),
    [
        ("rule_expiry", {"outcome": "deleted"}, True),
        ("rule_expiry", {"outcome": "kept_listed"}, True),
        ("rule_expiry", {"outcome": "kept_listed_changed"}, False),
        ("duplicate_rule", error_outcome(409, "Exists", "m"), True),
        ("duplicate_rule", {"outcome": "accepted"}, False),
        ("rule_path_without_trailing_slash", error_outcome(400, "InvalidPath", "m"), True),
        ("rule_path_without_trailing_slash", {"outcome": "accepted"}, False),
        ("rule_on_missing_directory", {"outcome": "accepted"}, True),
        ("rule_on_missing_directory", error_outcome(400, "InvalidPath", "m"), False),
        ("delete_missing_rule", error_outcome(404, "AccessRuleNotFound", "m"), True),
        ("delete_missing_rule", error_outcome(404, "NotFound", "m"), False),
        ("mkdir_existing", error_outcome(502, "ExternalError.MkdirFailed.Exists", "m"), True),
        ("mkdir_existing", error_outcome(409, "Exists", "m"), True),
        ("mkdir_existing", {"outcome": "accepted"}, False),
        ("mkdir_missing_parent", error_outcome(404, "ClientError.NotFound", "m"), True),
        (
            "mkdir_missing_parent",
            error_outcome(502, "ExternalError.MkdirFailed.NotFound", "m"),
            True,
        ),
        ("mkdir_missing_parent", error_outcome(502, "ExternalError.MkdirFailed", "m"), False),
        ("rule_limit", error_outcome(409, "LimitExceeded", "m"), True),
        ("rule_limit", error_outcome(400, "RuleLimitReached", "m"), False),
        ("source_path", {"form": "collection_relative"}, True),
        ("source_path", {"form": "host_relative"}, True),
        ("source_path", {"form": "other"}, False),
    ],
)
def test_agreement_with_the_docs(behaviour: str, outcome: dict[str, object], agrees: bool) -> None:
    assert compute_agreement(observed(behaviour, "s", **outcome)) is agrees


def test_nothing_observed_means_no_verdict() -> None:
    assert compute_agreement(not_probed("rule_limit", "why")) is None
    assert compute_agreement(Observation("source_path", "unsettled", "s")) is None
    assert compute_agreement(Observation("source_path", "error", "s")) is None


@pytest.mark.parametrize(
    ("reported", "form", "prefix"),
    [
        ("/scratch/a.txt", "collection_relative", None),
        ("/data/guests/scratch/a.txt", "host_relative", "/data/guests"),
        ("/elsewhere/b.txt", "other", None),
    ],
)
def test_source_path_forms(reported: str, form: str, prefix: str | None) -> None:
    assert classify_source_path(reported, "/scratch/a.txt") == (form, prefix)


def test_complete_lists_every_behaviour_once_in_order() -> None:
    seen = {"source_path": observed("source_path", "s", form="other")}
    report = complete(seen, reason="not reached")
    assert tuple(o.behaviour for o in report) == BEHAVIOURS == tuple(ASSUMPTIONS)
    assert [o.status for o in report].count("observed") == 1
    assert all(o.summary == "not reached" for o in report if o.behaviour != "source_path")
