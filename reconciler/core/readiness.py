"""Whether Globus is ready for a spec set: the pure half of ``reconciler doctor``.

``reconciler.globus.inspecting`` fetches plain facts (the token response, each
collection's document, the client's own membership in each group, a listing of each
stage source); ``compute_checks`` turns them into one ``Check`` per question, each
failure with the remedy a person can act on. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from reconciler.core.intent import Intent, StageSource

CheckStatus = Literal["ok", "warn", "fail"]

RULE_ROLES = frozenset({"administrator", "access_manager"})
"""Roles that may create access rules (``restricted_administrator`` may only view and delete)."""
MONITOR_ROLES = frozenset({"activity_monitor", "activity_manager", "administrator"})
"""Roles that may read a collection's task history (revoke after download)."""
GROUP_ROLES = frozenset({"admin", "manager"})
GUEST_TYPES = frozenset({"GCSv5_guest_collection", "GCP_guest_collection", "GCSv4_share"})
"""Collection types that carry access rules."""
CLIENT_DOMAIN = "clients.auth.globus.org"


@dataclass(frozen=True, slots=True)
class CallError:
    """A failed call, as Globus answered it (``http_status`` None: no answer at all)."""

    http_status: int | None
    code: str | None
    message: str

    def __str__(self) -> str:
        status = f"{self.http_status} " if self.http_status is not None else ""
        return f"{status}{self.code or 'error'}: {self.message}"


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """The credentials and what Globus Auth granted them.

    ``kind`` is ``client`` (a confidential client, tokens fetched just now) or
    ``tokens`` (access tokens handed over, e.g. by a JupyterHub: their scopes are not
    known). ``requested``/``granted`` map a resource server to scope strings; ``granted``
    is None for a resource server with no token."""

    kind: Literal["client", "tokens"]
    principal: str
    """Who acts: ``<client_id>@clients.auth.globus.org``, an identity id, or a description."""
    requested: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    granted: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    error: CallError | None = None


@dataclass(frozen=True, slots=True)
class CollectionFacts:
    """``GET /endpoint/{id}`` as the reconciler's credentials see it."""

    collection_id: str
    error: CallError | None = None
    display_name: str | None = None
    entity_type: str | None = None
    subscription_id: str | None = None
    my_effective_roles: tuple[str, ...] | None = None
    """None when the document carries no ``my_effective_roles`` at all."""


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """The caller's own active membership roles in a group (``my_memberships``)."""

    group_id: str
    error: CallError | None = None
    my_roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """A listing of a stage source's path (one ``operation_ls``)."""

    source: StageSource
    error: CallError | None = None


@dataclass(frozen=True, slots=True)
class ReadinessFacts:
    token: TokenFacts
    collections: Mapping[str, CollectionFacts] = field(default_factory=dict)
    groups: Mapping[str, GroupFacts] = field(default_factory=dict)
    sources: Mapping[StageSource, SourceFacts] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: ``check`` names the question, ``subject`` what it is about."""

    check: str
    subject: str
    status: CheckStatus
    detail: str
    remedy: str = ""


def stage_sources(intent: Intent) -> tuple[StageSource, ...]:
    """Each distinct stage source of the specs, in spec order."""
    seen: dict[StageSource, None] = {}
    for grant in intent.grants:
        if grant.stage is not None:
            seen.setdefault(grant.stage, None)
    return tuple(seen)


def needed_servers(intent: Intent) -> tuple[str, ...]:
    """The resource servers the spec set needs tokens for: Transfer always, Groups when
    groups are declared, Auth when usernames must be resolved."""
    servers = ["transfer.api.globus.org"]
    if intent.groups:
        servers.append("groups.api.globus.org")
    if intent.lookup_refs():
        servers.append("auth.globus.org")
    return tuple(servers)


def compute_checks(intent: Intent, facts: ReadinessFacts) -> tuple[Check, ...]:
    """Every check, in a stable order: credentials, collections, groups, stage sources."""
    who = facts.token.principal
    checks = list(_token_checks(intent, facts.token))
    monitored = {g.collection_id for g in intent.grants if g.revoke_after_download}
    for collection in intent.collections:
        subject = f"collection {collection.name} ({collection.id})"
        found = facts.collections.get(collection.id)
        if found is None:
            checks.append(_unchecked("collection_exists", subject, facts.token))
            continue
        checks.extend(
            _collection_checks(
                subject,
                found,
                who=who,
                monitored=collection.id in monitored,
                where=str(collection.origin),
            )
        )
    for group in intent.groups:
        subject = f"group {group.name} ({group.id})"
        found_group = facts.groups.get(group.id)
        checks.append(
            _group_check(subject, found_group, who=who)
            if found_group is not None
            else _unchecked("group_role", subject, facts.token)
        )
    for source in stage_sources(intent):
        found_source = facts.sources.get(source)
        checks.append(
            _source_check(found_source, who=who)
            if found_source is not None
            else _unchecked("stage_source_read", _source_subject(source), facts.token)
        )
    return tuple(checks)


def _source_subject(source: StageSource) -> str:
    return f"stage source {source.collection_id}:{source.path}"


def _unchecked(check: str, subject: str, token: TokenFacts) -> Check:
    """A question that was never asked: after a failed token request, because of it."""
    if token.error is not None:
        return Check(check, subject, "fail", "not checked: no token", "fix the credentials first")
    return Check(check, subject, "fail", "not checked", "run `reconciler doctor` again")


def checks_pass(checks: tuple[Check, ...]) -> bool:
    return all(c.status != "fail" for c in checks)


def _token_checks(intent: Intent, token: TokenFacts) -> list[Check]:
    if token.error is not None:
        if token.error.http_status is None:
            remedy = "Globus Auth did not answer: check the network (and any proxy), then retry"
        elif token.kind == "client":
            remedy = (
                "check GLOBUS_CLIENT_ID and the client secret (app.globus.org, the client's "
                "Client Secrets page)"
            )
        else:
            remedy = "log in to the hub again so it hands over fresh tokens"
        return [Check("credentials", token.principal, "fail", str(token.error), remedy)]
    checks = [
        Check(
            "credentials",
            token.principal,
            "ok",
            "a confidential client; Globus Auth issued tokens"
            if token.kind == "client"
            else "access tokens handed over (GLOBUS_DATA)",
        )
    ]
    for server in needed_servers(intent):
        granted = token.granted.get(server)
        requested = token.requested.get(server, ())
        if granted is None:
            checks.append(
                Check(
                    "token",
                    server,
                    "fail",
                    "no token for this service",
                    "give the reconciler a confidential client (GLOBUS_CLIENT_ID and "
                    "GLOBUS_CLIENT_SECRET), or have the hub keep this service's token",
                )
            )
            continue
        if token.kind == "tokens":
            checks.append(Check("token", server, "ok", "present (scopes not reported)"))
            continue
        missing = [scope for scope in requested if scope not in granted]
        if missing:
            checks.append(
                Check(
                    "token",
                    server,
                    "fail",
                    f"the token lacks {', '.join(missing)}",
                    "allow these scopes for the client at app.globus.org",
                )
            )
        else:
            checks.append(Check("token", server, "ok", f"scopes: {' '.join(granted)}"))
    return checks


def _collection_checks(
    subject: str,
    facts: CollectionFacts,
    *,
    who: str,
    monitored: bool,
    where: str,
) -> list[Check]:
    if facts.error is not None:
        if facts.error.http_status == 404:
            remedy = f"check the collection id ({where}); the collection may have been deleted"
        elif facts.error.http_status in (401, 403):
            remedy = f"ask the collection's administrator to give `{who}` access to it"
        else:
            remedy = "retry; if it persists, check Globus status (status.globus.org)"
        return [Check("collection_exists", subject, "fail", str(facts.error), remedy)]
    checks = [Check("collection_exists", subject, "ok", f"found: {facts.display_name!r}")]
    kind = facts.entity_type or "unknown"
    if kind in GUEST_TYPES:
        checks.append(Check("collection_type", subject, "ok", kind))
    else:
        checks.append(
            Check(
                "collection_type",
                subject,
                "fail",
                f"{kind}: access rules live on guest collections",
                "create a guest collection on this storage and declare its id instead",
            )
        )
    if facts.subscription_id:
        checks.append(
            Check("collection_subscription", subject, "ok", f"managed ({facts.subscription_id})")
        )
    else:
        checks.append(
            Check(
                "collection_subscription",
                subject,
                "fail",
                "no subscription: role assignment and activity monitoring need a managed endpoint",
                "ask the endpoint's owner to put it under your organization's Globus subscription",
            )
        )
    checks.append(_role_check(subject, facts.my_effective_roles, who=who))
    if monitored:
        checks.append(_monitor_check(subject, facts.my_effective_roles, who=who))
    return checks


def _roles_text(roles: tuple[str, ...]) -> str:
    return ", ".join(roles) if roles else "none"


def _role_check(subject: str, roles: tuple[str, ...] | None, *, who: str) -> Check:
    if roles is None:
        return Check(
            "collection_role",
            subject,
            "warn",
            "Globus did not report my_effective_roles; the role could not be checked",
            f"make sure `{who}` holds Access Manager on it",
        )
    held = RULE_ROLES.intersection(roles)
    if held:
        return Check("collection_role", subject, "ok", f"holds {', '.join(sorted(held))}")
    restricted = (
        " (restricted_administrator may not create rules)"
        if "restricted_administrator" in roles
        else ""
    )
    return Check(
        "collection_role",
        subject,
        "fail",
        f"lacks the access_manager role (holds: {_roles_text(roles)}){restricted}",
        f"ask the collection's administrator to add `{who}` as Access Manager (the web "
        "app's Roles tab, or `globus-connect-server collection role create COLLECTION_ID "
        f"access_manager {who}`)",
    )


def _monitor_check(subject: str, roles: tuple[str, ...] | None, *, who: str) -> Check:
    if roles is not None and MONITOR_ROLES.intersection(roles):
        held = ", ".join(sorted(MONITOR_ROLES.intersection(roles)))
        return Check("collection_activity_role", subject, "ok", f"holds {held}")
    return Check(
        "collection_activity_role",
        subject,
        "fail" if roles is not None else "warn",
        "a grant uses revoke_after_download, which needs the activity_monitor role "
        f"(holds: {_roles_text(roles or ())})",
        f"ask the collection's administrator to add `{who}` as Activity Monitor",
    )


def _group_check(subject: str, facts: GroupFacts, *, who: str) -> Check:
    add_admin = f"ask a group admin to add `{who}` to the group as an admin (or manager)"
    if facts.error is not None:
        if facts.error.http_status == 404:
            return Check(
                "group_role",
                subject,
                "fail",
                str(facts.error),
                "check the group id; the group may have been deleted",
            )
        if facts.error.http_status in (401, 403):
            return Check("group_role", subject, "fail", str(facts.error), add_admin)
        return Check(
            "group_role", subject, "fail", str(facts.error), "retry; if it persists, check Globus"
        )
    held = GROUP_ROLES.intersection(facts.my_roles)
    if held:
        return Check("group_role", subject, "ok", f"the client is {', '.join(sorted(held))}")
    return Check(
        "group_role",
        subject,
        "fail",
        f"the client's role is {_roles_text(facts.my_roles)}; memberships need admin or manager",
        add_admin,
    )


def _source_check(facts: SourceFacts, *, who: str) -> Check:
    subject = _source_subject(facts.source)
    if facts.error is None:
        return Check("stage_source_read", subject, "ok", "readable")
    status = facts.error.http_status
    code = facts.error.code or ""
    if status == 404 and "Endpoint" in code:
        remedy = "check the source collection id in the spec"
    elif status == 404:
        remedy = "check the source path; it does not exist on that collection"
    elif status in (401, 403) or "Consent" in code:
        remedy = (
            f"give `{who}` read access to this path (an access rule or a role on the "
            "source collection; a mapped collection also needs an identity mapping)"
        )
    else:
        remedy = "retry; if it persists, check the source collection's status"
    return Check("stage_source_read", subject, "fail", str(facts.error), remedy)
