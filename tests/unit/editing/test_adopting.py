"""The file ``reconciler import`` writes, from plain live values (no Globus): folding per-
user directories, names, policies, what is skipped, and that the result validates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.core.intent import CollectionIntent, GroupIntent, Origin
from reconciler.core.live import LiveCollection, LiveGroup, LiveMember, LiveRule
from reconciler.editing.adopting import (
    AdoptRequest,
    Found,
    compute_adoption,
    render_adopted,
    require_kept,
)
from reconciler.editing.arguments import Expiry
from reconciler.editing.checking import compute_checked
from reconciler.editing.errors import EditRefused
from reconciler.editing.proposals import Proposal
from reconciler.editing.workspace import Workspace
from reconciler.editing.yamltext import ParsedText, SpecText, compute_parsed
from reconciler.spec import load_spec_set

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CID = "e56c36e4-1063-11e6-a747-22000bf2d559"
GID = "b4cada3a-af7c-11e3-8b90-1231391ccf32"
ALICE = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
BOB = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
CAROL = "cccccccc-3333-4333-8333-cccccccccccc"
ORIGIN = Origin("specs/c.yaml", 1, 1)
COLLECTION = CollectionIntent("tutorial", CID, "/disthome/", cleanup=True, origin=ORIGIN)
GROUP = GroupIntent("users", GID, "exclusive", ORIGIN)
OUT = Path("specs/imported.yaml")
EXPIRY = Expiry(NOW + timedelta(days=30), "2026-12-26T12:00:00Z")


def declarations(policy: str) -> str:
    return f"""
collections:
  tutorial:
    id: {CID}
    root: /disthome/
    policy: {policy}
groups:
  users:
    id: {GID}
    members: exclusive
distributions:
  - name: imported-tutorial
    collection: tutorial
    grants: []
"""


def workspace(
    policy: str = "{max_permissions: rw, cleanup: true, max_duration: 730d}",
) -> Workspace:
    files = (
        _parsed(Path("specs/c.yaml"), declarations(policy)),
        ParsedText(SpecText(OUT, str(OUT), "", exists=False), ()),
    )
    return Workspace(Path("specs"), files, NOW)


def _parsed(path: Path, text: str) -> ParsedText:
    return compute_parsed(SpecText(path, str(path), text))


def rule(principal: str, path: str, **terms: object) -> LiveRule:
    fields: dict[str, object] = {
        "id": f"rule-{principal[:4]}-{path}",
        "principal_type": "identity",
        "principal": principal,
        "path": path,
        "permissions": "r",
        "expires": None,
    }
    fields.update(terms)
    return LiveRule(**fields)  # type: ignore[arg-type]


def adopt(found: Found, ws: Workspace | None = None) -> tuple[Proposal, str]:
    ws = ws or workspace()
    proposal = compute_adoption(ws, found, AdoptRequest(OUT, EXPIRY))
    checked = compute_checked(ws.files, proposal, now=NOW)  # the writer's own check
    return proposal, checked.texts.get(OUT, "")


def found(*rules: LiveRule, **extra: object) -> Found:
    return Found(
        collections=((COLLECTION, LiveCollection(CID, rules)),),
        usernames={ALICE: "alice@example.org"},
        group_names={GID: "users"},
        **extra,  # type: ignore[arg-type]
    )


def test_per_user_directories_fold_into_one_distribution_per_parent() -> None:
    proposal, text = adopt(
        found(
            rule(ALICE, f"/disthome/{ALICE}/"),
            rule(BOB, f"/disthome/{BOB}/", expires=NOW + timedelta(days=3)),
            rule(BOB, f"/disthome/run1/{BOB}/"),
            rule(BOB, "/disthome/notes/"),
        )
    )
    assert "- name: imported-tutorial-2-per-user" not in text
    assert "    path: /disthome/{identity_id}/\n" in text
    assert "    path: /disthome/run1/{identity_id}/\n" in text
    assert "      - identity: alice@example.org\n" in text  # a username where Auth knew it
    assert f"      - identity: {BOB}\n" in text  # else the UUID
    assert f"      - identity: {BOB}\n        path: /disthome/notes/\n" in text
    assert "expires: 2026-11-29T12:00:00Z" in text  # bob's own expiry is kept
    # The names taken in the specs are avoided.
    names = [line.split(": ")[1] for line in text.splitlines() if "- name:" in line]
    assert names == [
        "imported-tutorial-per-user",
        "imported-tutorial-per-user-2",
        "imported-tutorial-2",
    ]
    assert proposal.summary.startswith("import 4 rules in 3 distributions")


def test_only_owned_rules_are_adopted_and_the_rest_is_listed() -> None:
    proposal, text = adopt(
        found(
            rule(ALICE, "/", id=None, role_id="r1", permissions="rw"),
            rule(ALICE, "/disthome/"),
            rule(ALICE, "/other/"),
            rule(ALICE, f"/disthome/{ALICE}/"),
            rule(BOB, "/disthome/declared/"),
            rule(CAROL, "/disthome/expired/"),
            declared_rules=frozenset({(CID, "identity", BOB, "/disthome/declared/")}),
            revoked_rules=frozenset({(CID, "identity", CAROL, "/disthome/expired/")}),
        )
    )
    details = "\n".join(proposal.details)
    assert "(a role entry)" in details
    assert "on tutorial:/disthome/ (outside the root /disthome/)" in details
    assert "on tutorial:/other/ (outside the root" in details
    assert f"identity:{BOB} r on tutorial:/disthome/declared/" in details
    assert "(revoked there: the plan deletes it)" in details
    assert text.count("- identity:") == 1


def test_the_policy_narrows_terms_and_public_rules_it_forbids_are_named() -> None:
    policy = "{max_permissions: r, max_duration: 30d}"
    proposal, text = adopt(
        found(
            rule(ALICE, f"/disthome/{ALICE}/", permissions="rw"),
            rule(BOB, "/disthome/far/", expires=NOW + timedelta(days=400)),
            rule("", "/disthome/public/", principal_type="all_authenticated_users"),
        ),
        workspace(policy),
    )
    details = "\n".join(proposal.details)
    assert "rw narrowed to r" in details
    assert "beyond max_duration" in details
    assert "not adopted: the next plan would remove these:" in details
    assert "allow_public: false" in details
    assert "permissions: rw" not in text
    assert "public" not in text
    # Said even where the collection does not clean up: a policy switched on later must
    # not delete data the reconciler never put there.
    assert text.count("cleanup: false") == text.count("- identity:") == 2
    assert "expires: 2026-12-26T12:00:00Z" in text


def test_public_rules_are_adopted_where_allowed() -> None:
    _, text = adopt(
        found(rule("", "/disthome/public/", principal_type="anonymous")),
        workspace("{allow_public: true}"),
    )
    assert "      - public: anonymous\n        path: /disthome/public/\n" in text


def test_active_members_are_adopted_and_invitations_named() -> None:
    members = (
        LiveMember(ALICE, "alice@example.org", "member", "active"),
        LiveMember(BOB, None, "member", "invited"),
        LiveMember(CAROL, None, "admin", "active"),
        LiveMember("dddddddd-4444-4444-8444-dddddddddddd", None, "member", "active"),
    )
    listed = frozenset({(GID, "dddddddd-4444-4444-8444-dddddddddddd")})
    proposal, text = adopt(found(groups=((GROUP, LiveGroup(GID, members)),), listed_members=listed))
    assert text.endswith(
        "memberships:\n  - group: users\n    identity: alice@example.org\n"
        "    expires: 2026-12-26T12:00:00Z\n"
    )
    details = "\n".join(proposal.details)
    assert "an exclusive group's plan removes the invitation" in details
    assert "admin " in details
    assert "member dddddddd-4444-4444-8444-dddddddddddd of users" in details  # already listed


def test_nothing_to_adopt_writes_nothing() -> None:
    proposal, _ = adopt(found(rule(ALICE, "/other/")))
    assert proposal.edits == ()
    assert proposal.summary.startswith("nothing to import")


def test_an_existing_file_is_replaced_only_when_asked(tmp_path: Path) -> None:
    existing = _parsed(OUT, "distributions: []\n")
    ws = Workspace(Path("specs"), (workspace().files[0], existing), NOW)
    with pytest.raises(EditRefused, match="exists already"):
        compute_adoption(ws, found(rule(ALICE, f"/disthome/{ALICE}/")), AdoptRequest(OUT, EXPIRY))
    request = AdoptRequest(OUT, EXPIRY, overwrite=True)
    proposal = compute_adoption(ws, found(rule(ALICE, f"/disthome/{ALICE}/")), request)
    text = compute_checked(ws.files, proposal, now=NOW).texts[OUT]
    assert text.startswith("# Adopted from Globus by `reconciler import` at 2026-11-26T12:00:00Z.")
    written = tmp_path / "specs"
    written.mkdir()
    (written / "c.yaml").write_text(declarations("{cleanup: true}"))
    (written / "imported.yaml").write_text(text)
    assert load_spec_set([written], now=NOW).ok


def test_a_directory_named_after_the_uuid_in_another_case_is_not_folded() -> None:
    """``{identity_id}`` expands to the UUID as Globus spells it: folding an upper-case
    directory name would make the next plan prune the rule and, after the grace,
    remove the directory the user's data is in."""
    upper = f"/disthome/{ALICE.upper()}/"
    proposal, text = adopt(found(rule(ALICE, upper), rule(BOB, f"/disthome/{BOB}/")))
    assert f"      - identity: alice@example.org\n        path: {upper}\n" in text
    assert "imported-tutorial-per-user" in text  # bob's, spelled as Globus spells it
    assert proposal.summary.startswith("import 2 rules in 2 distributions")


def test_a_path_with_braces_is_listed_not_written_as_a_template() -> None:
    proposal, text = adopt(
        found(rule(ALICE, "/disthome/{identity_id}/"), rule(BOB, "/disthome/b/"))
    )
    assert "{identity_id}" not in text
    details = "\n".join(proposal.details)
    assert "not adopted: the next plan would remove these:" in details
    assert "on tutorial:/disthome/{identity_id}/ (`{` and `}` mark placeholders" in details


def test_a_rule_expired_already_keeps_its_expiry_and_its_data() -> None:
    proposal, text = adopt(found(rule(ALICE, "/disthome/old/", expires=NOW - timedelta(days=2))))
    assert "expires: 2026-11-24T12:00:00Z\n        permissions: r\n        cleanup: false" in text
    details = "\n".join(proposal.details)
    assert "adopted, but expired already (the plan deletes the rule; its data stays):" in details


def test_a_member_through_a_subgroup_is_not_adopted_as_a_membership() -> None:
    """Written as a membership, the person would be added to the group directly once
    they left the subgroup: more access than exists."""
    sub = "eeeeeeee-5555-4555-8555-eeeeeeeeeeee"
    members = (
        LiveMember(ALICE, "alice@example.org", "member", "active", source_group_id=sub),
        LiveMember(BOB, None, "member", "active", source_group_id=sub),
        LiveMember(BOB, None, "member", "active"),  # and a membership of its own
    )
    proposal, text = adopt(found(groups=((GROUP, LiveGroup(GID, members)),)))
    assert "alice@example.org" not in text
    assert text.count(f"    identity: {BOB}\n") == 1
    details = "\n".join(proposal.details)
    assert f"member alice@example.org of users (through subgroup {sub}" in details


def test_a_file_that_would_not_keep_what_it_adopts_is_refused() -> None:
    """The proof: planning the spec set with the new file keeps every adopted rule and
    membership, else nothing is written (a wrong folding would become a prune)."""
    ws = workspace()
    target = ws.files[1]
    grant = {"identity": "alice@example.org", "expires": "2026-12-26T12:00:00Z", "cleanup": False}
    # Alice's rule is on her upper-case directory; the folded template is lower case.
    dist = {"collection": "tutorial", "path": "/disthome/{identity_id}/", "grants": [grant]}
    text = render_adopted([{"name": "x", **dist}], [], now=NOW)
    usernames = {ALICE: "alice@example.org"}
    upper = (CID, "identity", ALICE, f"/disthome/{ALICE.upper()}/")
    with pytest.raises(EditRefused, match="does not keep everything it adopts") as refused:
        require_kept(ws, target, text, usernames=usernames, rules=[upper])
    assert f"identity:{ALICE} on /disthome/{ALICE.upper()}/" in refused.value.message
    with pytest.raises(EditRefused, match=f"member {BOB} of group {GID}"):
        require_kept(ws, target, text, usernames=usernames, rules=[], members=[(GID, BOB)])
    # The same file keeps the rule on the directory the template names.
    lower = (CID, "identity", ALICE, f"/disthome/{ALICE}/")
    require_kept(ws, target, text, usernames=usernames, rules=[lower])
