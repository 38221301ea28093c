"""Notification email for people who never logged in: Globus Auth provisions them with no
email, so `plan` warns for each notifying grant that has none, and a grant's explicit
`notify_email` is what Transfer is given when the rule is created."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.rendering.text import render_plan_text
from tests.integration.engine.conftest import World

GRANTS = """
distributions:
  - name: welcome
    collection: tutorial
    path: /disthome/{identity_id}/
    grants:
      - identity: newbie@example.org
        expires: 2027-06-30
        notify: true
      - identity: other@example.org
        expires: 2027-06-30
        notify: true
        notify_message: Your data is ready
        notify_email: other.person@lab.example.org
"""


def test_provisioned_identities_have_no_email_and_notify_email_is_used(
    world: World, seeded: Callable[[], None]
) -> None:
    seeded()  # the collection only: the two people are unknown to Globus Auth so far
    world.write("welcome.yaml", GRANTS)
    clients = world.clients()
    try:
        plan, live = fetch_plan(clients, world.intent(), now=datetime.now(UTC))
        assert live.identities["newbie@example.org"].email is None  # provisioned just now
        text = render_plan_text(plan)
        (warning,) = [n for n in plan.notes if "knows no email address" in n]
        assert "welcome.yaml:6:" in warning
        assert "newbie@example.org" in warning
        assert "notify_email" in warning
        assert warning in text
        assert apply_plan(clients, plan).ok
    finally:
        clients.close()
    (sent,) = world.control.notifications()
    other = world.identity("other@example.org")
    assert (sent["principal"], sent["email"], sent["message"]) == (
        other,
        "other.person@lab.example.org",
        "Your data is ready",
    )
    assert len(world.rules()) == 2  # newbie's rule exists, without a notification
