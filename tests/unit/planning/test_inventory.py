"""The spec-file inventory the deletion guard compares passes with: files keyed by their
path relative to the spec directory given, with the grants and memberships in force."""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.intent import Origin
from reconciler.planning.inventory import (
    compute_inventory_name,
    compute_inventory_names,
    compute_spec_inventory,
)
from tests.unit.planning.builders import NOW, grant, intent, membership


def test_names_are_relative_to_the_spec_directory_wherever_it_is() -> None:
    for root in ("specs", "/srv/checkout/specs", "/builds/ci/x/specs/"):
        base = root.rstrip("/")
        assert compute_inventory_name(f"{base}/tutorial.yaml", [root]) == "tutorial.yaml"
        assert compute_inventory_name(f"{base}/team/a.yaml", [root]) == "team/a.yaml"
    # A file given directly is known by its own name; the first root that holds it wins.
    assert compute_inventory_name("specs/tutorial.yaml", ["specs/tutorial.yaml"]) == "tutorial.yaml"
    assert compute_inventory_name("b/x.yaml", ["a", "b"]) == "x.yaml"


def test_every_file_read_is_listed_with_what_it_holds_in_force() -> None:
    def at(file: str, made: object) -> object:
        return replace(made, origin=Origin(file, 3, 5))  # type: ignore[type-var]

    grants = (
        at("specs/tutorial.yaml", grant()),
        at("specs/tutorial.yaml", grant("bob@example.org", line=2)),
        at("specs/old.yaml", grant(days=-1)),  # expired: holds nothing in force
    )
    memberships = (at("specs/team/members.yaml", membership("alice@example.org")),)
    spec = intent(grants, memberships)  # type: ignore[arg-type]
    files = [
        "specs/collections.yaml",
        "specs/old.yaml",
        "specs/team/members.yaml",
        "specs/tutorial.yaml",
    ]
    assert compute_spec_inventory(files, spec, roots=["specs"], now=NOW) == {
        "collections.yaml": 0,
        "old.yaml": 0,
        "team/members.yaml": 1,
        "tutorial.yaml": 2,
    }


def test_files_of_two_spec_directories_that_share_a_name_stay_apart() -> None:
    """Both are ``team.yaml`` relative to their directory: one entry for the two hid the
    deletion of either from the deletion guard."""
    files = ["specs/collections.yaml", "team-a/team.yaml", "team-b/team.yaml"]
    roots = ["specs", "team-a", "team-b"]
    assert compute_inventory_names(files, roots) == {
        "specs/collections.yaml": "collections.yaml",
        "team-a/team.yaml": "team-a/team.yaml",
        "team-b/team.yaml": "team-b/team.yaml",
    }
    spec = intent(())
    assert set(compute_spec_inventory(files, spec, roots=roots, now=NOW)) == {
        "collections.yaml",
        "team-a/team.yaml",
        "team-b/team.yaml",
    }
    # A path as found that equals another file's relative name is numbered, never merged.
    tangled = ["specs/a/team.yaml", "a/team.yaml", "b/team.yaml"]
    names = compute_inventory_names(tangled, ["specs", "a", "b"])
    assert len(set(names.values())) == 3, names
