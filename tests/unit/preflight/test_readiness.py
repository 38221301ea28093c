"""``compute_checks``: the doctor's decisions over plain facts, table-driven."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.core.intent import Intent, StageSource
from reconciler.core.readiness import (
    CallError,
    Check,
    CollectionFacts,
    GroupFacts,
    ReadinessFacts,
    SourceFacts,
    TokenFacts,
    checks_pass,
    compute_checks,
    needed_servers,
    stage_sources,
)
from tests.unit.planning.builders import COLL, GROUP, grant, intent

CLIENT = "0b5e5a3c-5a4d-4b0f-9c3e-5a2d0b0c0de1@clients.auth.globus.org"
SOURCE = StageSource("ddb59aef-6d04-11e5-ba46-22000b92c6ec", "/share/godata/")
TRANSFER = "transfer.api.globus.org"
GROUPS = "groups.api.globus.org"
AUTH = "auth.globus.org"
REQUESTED = {
    TRANSFER: ("urn:globus:auth:scope:transfer.api.globus.org:all",),
    GROUPS: ("urn:globus:auth:scope:groups.api.globus.org:all",),
    AUTH: ("openid", "profile", "email"),
}


def specs(*, revoke_after_download: bool = True, staged: bool = True) -> Intent:
    staged_grant = replace(
        grant("bob@example.org"),
        revoke_after_download=revoke_after_download,
        stage=SOURCE if staged else None,
    )
    return intent((grant(), staged_grant))


def ready(**changes: object) -> ReadinessFacts:
    facts = ReadinessFacts(
        token=TokenFacts("client", CLIENT, REQUESTED, dict(REQUESTED)),
        collections={
            COLL: CollectionFacts(
                COLL,
                display_name="tutorial",
                entity_type="GCSv5_guest_collection",
                subscription_id="sub-1",
                my_effective_roles=("access_manager", "activity_monitor"),
            )
        },
        groups={GROUP: GroupFacts(GROUP, my_roles=("admin",))},
        sources={SOURCE: SourceFacts(SOURCE)},
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def by_check(checks: tuple[Check, ...], name: str) -> list[Check]:
    return [c for c in checks if c.check == name]


def failures(checks: tuple[Check, ...]) -> list[Check]:
    return [c for c in checks if c.status == "fail"]


def test_a_ready_world_passes_every_check() -> None:
    checks = compute_checks(specs(), ready())
    assert checks_pass(checks)
    assert [c.check for c in checks] == [
        "credentials",
        "token",
        "token",
        "token",
        "collection_exists",
        "collection_type",
        "collection_subscription",
        "collection_role",
        "collection_activity_role",
        "group_role",
        "stage_source_read",
    ]
    assert {c.status for c in checks} == {"ok"}


def collection_with(**changes: object) -> ReadinessFacts:
    base = ready().collections[COLL]
    return ready(collections={COLL: replace(base, **changes)})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "check", "detail", "remedy"),
    [
        (
            collection_with(my_effective_roles=("activity_monitor",)),
            "collection_role",
            "lacks the access_manager role (holds: activity_monitor)",
            f"add `{CLIENT}` as Access Manager",
        ),
        (
            collection_with(my_effective_roles=("restricted_administrator", "activity_monitor")),
            "collection_role",
            "restricted_administrator may not create rules",
            "as Access Manager",
        ),
        (
            collection_with(my_effective_roles=("access_manager",)),
            "collection_activity_role",
            "needs the activity_monitor role (holds: access_manager)",
            f"add `{CLIENT}` as Activity Monitor",
        ),
        (
            collection_with(entity_type="GCSv5_mapped_collection"),
            "collection_type",
            "GCSv5_mapped_collection: access rules live on guest collections",
            "create a guest collection",
        ),
        (
            collection_with(subscription_id=None),
            "collection_subscription",
            "no subscription",
            "subscription",
        ),
        (
            ready(
                collections={
                    COLL: CollectionFacts(COLL, CallError(404, "EndpointNotFound", "no such"))
                }
            ),
            "collection_exists",
            "404 EndpointNotFound: no such",
            "check the collection id (specs/t.yaml:1:1)",
        ),
        (
            ready(groups={GROUP: GroupFacts(GROUP, my_roles=("member",))}),
            "group_role",
            "the client's role is member",
            f"add `{CLIENT}` to the group as an admin",
        ),
        (
            ready(groups={GROUP: GroupFacts(GROUP, CallError(403, "FORBIDDEN", "not a member"))}),
            "group_role",
            "403 FORBIDDEN",
            f"add `{CLIENT}` to the group as an admin",
        ),
        (
            ready(
                sources={SOURCE: SourceFacts(SOURCE, CallError(404, "ClientError.NotFound", "x"))}
            ),
            "stage_source_read",
            "404 ClientError.NotFound",
            "check the source path",
        ),
        (
            ready(sources={SOURCE: SourceFacts(SOURCE, CallError(403, "PermissionDenied", "x"))}),
            "stage_source_read",
            "403 PermissionDenied",
            f"give `{CLIENT}` read access",
        ),
        (
            ready(token=TokenFacts("client", CLIENT, REQUESTED, error=CallError(401, None, "bad"))),
            "credentials",
            "401",
            "check GLOBUS_CLIENT_ID and the client secret",
        ),
        (
            ready(token=TokenFacts("client", CLIENT, REQUESTED, {**REQUESTED, GROUPS: ("view",)})),
            "token",
            "lacks urn:globus:auth:scope:groups.api.globus.org:all",
            "allow these scopes",
        ),
    ],
)
def test_each_failure_names_what_and_how_to_fix_it(
    facts: ReadinessFacts, check: str, detail: str, remedy: str
) -> None:
    checks = compute_checks(specs(), facts)
    failed = failures(checks)
    assert [c.check for c in failed] == [check]
    assert detail in failed[0].detail
    assert remedy in failed[0].remedy
    assert not checks_pass(checks)


def test_a_failed_token_request_skips_the_rest_but_still_fails_them() -> None:
    facts = ReadinessFacts(TokenFacts("client", CLIENT, REQUESTED, error=CallError(401, None, "x")))
    checks = compute_checks(specs(), facts)
    assert {c.status for c in checks if c.check != "credentials"} == {"fail"}
    assert "not checked" in by_check(checks, "collection_exists")[0].detail
    # and each of them points at the credentials, not at Globus or the spec
    assert {c.remedy for c in checks if c.check != "credentials"} == {"fix the credentials first"}


def test_an_unreachable_auth_is_not_blamed_on_the_client_secret() -> None:
    no_answer = CallError(None, None, "network error: GlobusConnectionError")
    checks = compute_checks(
        specs(), ReadinessFacts(TokenFacts("client", CLIENT, {}, error=no_answer))
    )
    credentials = by_check(checks, "credentials")[0]
    assert credentials.status == "fail"
    assert "client secret" not in credentials.remedy
    assert "check the network" in credentials.remedy


def test_activity_role_is_checked_only_where_a_grant_revokes_after_download() -> None:
    facts = collection_with(my_effective_roles=("access_manager",))
    checks = compute_checks(specs(revoke_after_download=False), facts)
    assert by_check(checks, "collection_activity_role") == []
    assert checks_pass(checks)


def test_activity_manager_or_administrator_serve_as_monitor() -> None:
    for roles in (("access_manager", "activity_manager"), ("administrator",)):
        checks = compute_checks(specs(), collection_with(my_effective_roles=roles))
        assert checks_pass(checks), roles


def test_unreported_roles_warn_but_do_not_fail() -> None:
    checks = compute_checks(specs(), collection_with(my_effective_roles=None))
    assert checks_pass(checks)
    assert {c.status for c in by_check(checks, "collection_role")} == {"warn"}


def test_handed_over_tokens_need_one_token_per_service_used() -> None:
    facts = ready(token=TokenFacts("tokens", "abc", granted={TRANSFER: (), AUTH: ()}))
    checks = compute_checks(specs(), facts)
    failed = failures(checks)
    assert [(c.check, c.subject) for c in failed] == [("token", GROUPS)]
    assert "have the hub keep this service's token" in failed[0].remedy


def test_needed_servers_follow_the_specs() -> None:
    uuid_only = Intent(
        specs().collections, (), (grant("aaaaaaaa-0000-4000-8000-000000000001"),), ()
    )
    assert needed_servers(uuid_only) == (TRANSFER,)
    assert needed_servers(specs()) == (TRANSFER, GROUPS, AUTH)


def test_stage_sources_are_distinct_and_in_spec_order() -> None:
    other = StageSource("ddb59aef-6d04-11e5-ba46-22000b92c6ec", "/other/")
    grants = (
        replace(grant(), stage=other),
        replace(grant("bob@example.org"), stage=SOURCE),
        replace(grant("carol@example.org"), stage=other),
    )
    assert stage_sources(intent(grants)) == (other, SOURCE)
