"""``policy.prune_grace``: how long a pruned grant's directory is kept (default 7 days);
never zero, and its errors are located and say how to fix them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.spec.conftest import Check

COLLECTION = """
collections:
  petrel:
    id: e56c36e4-1063-11e6-a747-22000bf2d559
    root: /disthome/
    policy: {{cleanup: true{grace}}}
"""


def spec(grace: str | None) -> dict[str, str]:
    return {"c.yaml": COLLECTION.format(grace=f", prune_grace: {grace}" if grace else "")}


@pytest.mark.parametrize(
    ("grace", "expected"),
    [(None, timedelta(days=7)), ("1h", timedelta(hours=1)), ("2w", timedelta(days=14))],
)
def test_prune_grace_lowers_to_the_collection(
    check: Check, grace: str | None, expected: timedelta
) -> None:
    intent, diagnostics = check(spec(grace))
    assert intent is not None, [str(d) for d in diagnostics]
    assert intent.collections[0].prune_grace == expected


@pytest.mark.parametrize(
    ("grace", "message"),
    [
        ("0d", "is no grace at all: a pruned grant's data would be deleted at once"),
        ("7 days", "is not a duration"),
        ("7", "must be a string, got the number `7`"),
    ],
)
def test_a_bad_prune_grace_is_a_located_error(check: Check, grace: str, message: str) -> None:
    intent, diagnostics = check(spec(grace))
    assert intent is None
    (error,) = [d for d in diagnostics if d.severity == "error"]
    assert str(error).startswith("c.yaml:6:")
    assert message in str(error)
