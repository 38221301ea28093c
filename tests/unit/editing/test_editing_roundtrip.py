"""Edits change only the lines they mean to: everything else in the file, and every
other file, stays byte-identical (comments, quotes, flow mappings, blank lines,
4-space indents, CRLF line endings, a BOM, a missing final newline, documents)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler import api
from reconciler.spec import load_spec_set

from .conftest import LIVE_SPECS, changed_lines, snapshot


def edit_and_diff(
    directory: Path, now: datetime, call: Callable[..., api.EditResult], *args: Any, **kwargs: Any
) -> tuple[api.EditResult, dict[str, tuple[list[bytes], list[bytes]]]]:
    """Run an edit; return its result and the changed lines of each changed file."""
    before = snapshot(directory)
    result = call(directory, *args, now=now, **kwargs)
    after = snapshot(directory)
    changes = {
        name: changed_lines(before.get(name, b""), content)
        for name, content in after.items()
        if before.get(name) != content and not name.startswith(".")
    }
    assert load_spec_set([directory], now=now).ok
    return result, changes


def lines(*texts: str, newline: str = "\n") -> list[bytes]:
    return [(text + newline).encode() for text in texts]


def test_add_appends_lines_laid_out_like_the_previous_grant(odd: Path, now: datetime) -> None:
    result, changes = edit_and_diff(
        odd, now, api.add_grant, "per-user", "frank@example.org", duration="14d"
    )
    assert result.changed
    assert result.file == odd / "grants.yaml"
    assert result.expires == datetime.fromisoformat("2026-12-10T12:00:00+00:00")
    assert changes == {
        "grants.yaml": (
            [],
            lines(
                "        -   identity: frank@example.org",
                "            expires: 2026-12-10T12:00:00Z",
                "            permissions: r",
            ),
        )
    }
    # after the last grant's block scalar, before the comments that follow it
    text = (odd / "grants.yaml").read_text()
    assert "Enjoy!\n        -   identity: frank@example.org\n" in text


def test_add_to_an_empty_flow_list_opens_a_block_list_and_keeps_the_comment(
    odd: Path, now: datetime
) -> None:
    _, changes = edit_and_diff(
        odd,
        now,
        api.add_grant,
        "shared",
        "group:staff",
        expires="2027-01-01",
        path="/disthome/staff/",
    )
    assert changes == {
        "grants.yaml": (
            lines("        grants: []      # none yet"),
            lines(
                "        grants:       # none yet",
                "        -   group: staff",
                "            path: /disthome/staff/",
                "            expires: 2027-01-01",
                "            permissions: r",
            ),
        )
    }


def test_add_to_a_flow_distribution_stays_on_its_line(odd: Path, now: datetime) -> None:
    _, changes = edit_and_diff(
        odd, now, api.add_grant, "flowdist", "gina@example.org", expires="2027-01-01"
    )
    removed, added = changes["grants.yaml"]
    assert len(removed) == 1
    assert added == [
        removed[0].replace(
            b"expires: 2027-01-01}]}",
            b"expires: 2027-01-01}, {identity: gina@example.org, expires: 2027-01-01, "
            b"permissions: r}]}",
        )
    ]


def test_add_in_a_second_document_with_every_option(odd: Path, now: datetime) -> None:
    _, changes = edit_and_diff(
        odd,
        now,
        api.add_grant,
        "multi",
        "hal@example.org",
        expires="2027-01-01T10:30:00+02:00",
        permissions="rw",
        notify="Your data: run #42 is ready",
        revoke_after_download=True,
        cleanup=False,
        path="/shared/multi/hal/",
    )
    assert changes == {
        "more.yaml": (
            [],
            lines(
                "      - identity: hal@example.org",
                "        path: /shared/multi/hal/",
                "        expires: 2027-01-01T08:30:00Z",
                "        permissions: rw",
                "        notify: true",
                "        notify_message: 'Your data: run #42 is ready'",
                "        revoke_after_download: true",
                "        cleanup: false",
            ),
        )
    }


def test_extend_keeps_quotes_and_the_comment_column(odd: Path, now: datetime) -> None:
    result, changes = edit_and_diff(
        odd, now, api.extend_grant, "per-user", "alice@example.org", expires="2027-02-02"
    )
    assert result.summary == "extend grant alice@example.org on tutorial/per-user until 2027-02-02"
    assert changes == {
        "grants.yaml": (
            lines("            expires: '2027-12-31'           # a quoted date"),
            lines("            expires: '2027-02-02'           # a quoted date"),
        )
    }
    _, changes = edit_and_diff(
        odd, now, api.extend_grant, "per-user", "alice@example.org", duration="10d"
    )
    assert changes["grants.yaml"][1] == lines(
        "            expires: '2026-12-06T12:00:00Z' # a quoted date"
    )


def test_extend_inside_a_flow_item(odd: Path, now: datetime) -> None:
    old, new = "2027-06-30T00:00:00Z", "2026-12-06T12:00:00Z"
    _, changes = edit_and_diff(
        odd, now, api.extend_grant, "per-user", "bob@example.org", duration="10d"
    )
    assert changes == {
        "grants.yaml": (
            lines(f"        -   {{identity: bob@example.org, expires: {old}}}   # a flow item"),
            lines(f"        -   {{identity: bob@example.org, expires: {new}}}   # a flow item"),
        )
    }


def test_revoke_a_group_grant_named_by_uuid_sets_expires_to_now(odd: Path, now: datetime) -> None:
    result, changes = edit_and_diff(
        odd,
        now.replace(microsecond=123456),
        api.revoke_grant,
        "flowdist",
        "group:B4CADA3A-AF7C-11E3-8B90-1231391CCF32",
    )
    assert result.expires == now
    assert result.warnings == ()  # the "treated as absent" warning is the point of it
    removed, added = changes["grants.yaml"]
    assert added == [removed[0].replace(b"expires: 2027-01-01}", b"expires: 2026-11-26T12:00:00Z}")]


def test_memberships_in_a_crlf_file_with_a_bom_and_no_final_newline(
    odd: Path, now: datetime
) -> None:
    _, changes = edit_and_diff(
        odd, now, api.add_membership, "tutorial-users", "jack@example.org", duration="10d"
    )
    assert changes == {
        "memberships.yml": (
            [b"  expires: 2019-05-01T00:00:00+02:00"],
            lines(
                "  expires: 2019-05-01T00:00:00+02:00",
                "- group: tutorial-users",
                "  identity: jack@example.org",
                "  expires: 2026-12-06T12:00:00Z",
                newline="\r\n",
            ),
        )
    }
    assert (odd / "memberships.yml").read_bytes().startswith(b"\xef\xbb\xbfmemberships:\r\n")
    _, changes = edit_and_diff(
        odd, now, api.extend_membership, "staff", "dave@example.org", expires="2027-02-01"
    )
    assert changes == {
        "memberships.yml": (
            lines("  expires: 2019-05-01T00:00:00+02:00", newline="\r\n"),
            lines("  expires: 2027-02-01", newline="\r\n"),
        )
    }


def test_membership_goes_next_to_the_groups_others_in_the_right_document(
    odd: Path, now: datetime
) -> None:
    _, changes = edit_and_diff(
        odd, now, api.add_membership, "staff", "ivy@example.org", duration="10d"
    )
    assert changes == {
        "more.yaml": (
            [],
            lines(
                "  - group: staff",
                "    identity: ivy@example.org",
                "    expires: 2026-12-06T12:00:00Z",
            ),
        )
    }


def test_tidy_removes_whole_entries_and_nothing_else(odd: Path, now: datetime) -> None:
    result, changes = edit_and_diff(odd, now, api.tidy, older_than="30d")
    assert (
        result.summary
        == "tidy: remove 1 grant and 1 membership expired before 2026-10-27T12:00:00Z"
    )
    assert [str(r) for r in result.removed] == [
        f"grant 6d0c1c1e-6b2a-4d2f-8a8e-0f2c1a2b3c4d on tutorial/per-user "
        f"/disthome/{{identity_id}}/, expired 2020-01-01 ({odd}/grants.yaml:16:13)",
        f"membership dave@example.org in staff, expired 2019-05-01T00:00:00+02:00 "
        f"({odd}/memberships.yml:5:3)",
    ]
    assert changes == {
        "grants.yaml": (
            lines(
                "        -   identity: 6d0c1c1e-6b2a-4d2f-8a8e-0f2c1a2b3c4d",
                "            expires: 2020-01-01     # long expired",
                "",
                "            notify: true",
                "            notify_message: |",
                "                Your data is ready.",
                "                Enjoy!",
            ),
            [],
        ),
        "memberships.yml": (
            [
                b"- group: staff   # staff\r\n",
                b"  identity: dave@example.org\r\n",
                b"  expires: 2019-05-01T00:00:00+02:00",
            ],
            [],
        ),
    }


def test_tidy_empties_lists_as_brackets_and_flow_lists_keep_their_commas(
    write_specs: Any, now: datetime
) -> None:
    specs = write_specs(
        {
            "c.yaml": "collections:\n  c: {id: e56c36e4-1063-11e6-a747-22000bf2d559, root: /d/}\n",
            "d.yaml": (
                "distributions:\n"
                "- name: a\n"
                "  collection: c\n"
                "  grants:   # old ones\n"
                "  - {identity: x@y.org, path: /d/x/, expires: 2020-01-01}\n"
                "  - identity: z@y.org\n"
                "    path: /d/z/\n"
                "    expires: 2020-01-01\n"
                "- name: b\n"
                "  collection: c\n"
                "  grants: [{identity: x@y.org, path: /d/x/, expires: 2020-01-01}, "
                "{identity: k@y.org, path: /d/k/, expires: 2027-01-01}, "
                "{identity: z@y.org, path: /d/z/, expires: 2020-01-01}]\n"
            ),
        }
    )
    _, changes = edit_and_diff(specs, now, api.tidy, older_than="1d")
    assert changes == {
        "d.yaml": (
            lines(
                "  grants:   # old ones",
                "  - {identity: x@y.org, path: /d/x/, expires: 2020-01-01}",
                "  - identity: z@y.org",
                "    path: /d/z/",
                "    expires: 2020-01-01",
                "  grants: [{identity: x@y.org, path: /d/x/, expires: 2020-01-01}, "
                "{identity: k@y.org, path: /d/k/, expires: 2027-01-01}, "
                "{identity: z@y.org, path: /d/z/, expires: 2020-01-01}]",
            ),
            lines(
                "  grants: []   # old ones",
                "  grants: [{identity: k@y.org, path: /d/k/, expires: 2027-01-01}]",
            ),
        )
    }


def test_create_a_distribution_in_a_new_file(odd: Path, now: datetime) -> None:
    result, changes = edit_and_diff(
        odd,
        now,
        api.add_grant,
        "newd",
        "kim@example.org",
        duration="10d",
        create=True,
        collection="shared-rw",
        path="/shared/{distribution}/{identity_id}/",
        file=odd / "sub" / "new.yaml",
    )
    assert result.summary.endswith("(new distribution)")
    assert changes == {
        "sub/new.yaml": (
            [],
            lines(
                "distributions:",
                "  - name: newd",
                "    collection: shared-rw",
                "    path: /shared/{distribution}/{identity_id}/",
                "    grants:",
                "      - identity: kim@example.org",
                "        expires: 2026-12-06T12:00:00Z",
                "        permissions: r",
            ),
        )
    }


def test_create_next_to_the_collections_other_distributions(odd: Path, now: datetime) -> None:
    _, changes = edit_and_diff(
        odd,
        now,
        api.add_grant,
        "newd",
        "kim@example.org",
        duration="10d",
        create=True,
        collection="shared-rw",
        path="/shared/newd/",
    )
    assert changes == {
        "more.yaml": (
            [],
            lines(
                "  - name: newd",
                "    collection: shared-rw",
                "    path: /shared/newd/",
                "    grants:",
                "      - identity: kim@example.org",
                "        expires: 2026-12-06T12:00:00Z",
                "        permissions: r",
            ),
        )
    }


def test_a_key_is_added_to_a_file_that_has_none(write_specs: Any, now: datetime) -> None:
    specs = write_specs(
        {
            "a.yaml": "# groups only\ngroups:\n    g:\n"
            "        id: 3f1c0a7e-2b5d-4e8f-9a6b-1c2d3e4f5a6b\n# the end",
        }
    )
    _, changes = edit_and_diff(specs, now, api.add_membership, "g", "u@x.org", expires="2027-01-01")
    assert changes == {
        "a.yaml": (
            [],
            lines(
                "memberships:", "  - group: g", "    identity: u@x.org", "    expires: 2027-01-01"
            ),
        )
    }
    assert (specs / "a.yaml").read_text().endswith("2027-01-01\n# the end")


def test_the_example_specs_survive_add_extend_revoke_and_tidy(
    examples: Path, now: datetime
) -> None:
    """The "done when" of the issue, on the repository's commented example."""
    original = (examples / "tutorial.yaml").read_bytes()
    _, changes = edit_and_diff(
        examples, now, api.add_grant, "per-user", "bob@example.org", duration="7d"
    )
    assert changes["tutorial.yaml"] == (
        [],
        lines(
            "      - identity: bob@example.org",
            "        expires: 2026-12-03T12:00:00Z",
            "        permissions: r",
        ),
    )
    _, changes = edit_and_diff(
        examples, now, api.extend_grant, "per-user", "alice@example.org", expires="2027-06-30"
    )
    assert changes["tutorial.yaml"] == (
        lines("        expires: 2027-12-31                    # access ends 2027-12-31T00:00:00Z"),
        lines("        expires: 2027-06-30                    # access ends 2027-12-31T00:00:00Z"),
    )
    _, changes = edit_and_diff(examples, now, api.revoke_grant, "per-user", "bob@example.org")
    assert changes["tutorial.yaml"] == (
        lines("        expires: 2026-12-03T12:00:00Z"),
        lines("        expires: 2026-11-26T12:00:00Z"),
    )
    later = datetime.fromisoformat("2026-12-30T00:00:00+00:00")
    result, changes = edit_and_diff(examples, later, api.tidy, older_than="5w")
    assert not result.changed  # bob's grant ended 34 days before `later`
    assert result.summary == "nothing expired before 2026-11-25T00:00:00Z; nothing to tidy"
    result, changes = edit_and_diff(examples, later, api.tidy, older_than="30d")
    assert changes["tutorial.yaml"] == (
        lines(
            "      - identity: bob@example.org",
            "        expires: 2026-11-26T12:00:00Z",
            "        permissions: r",
        ),
        [],
    )
    # back to the original apart from alice's new expiry
    assert (examples / "tutorial.yaml").read_bytes() == original.replace(
        b"expires: 2027-12-31                    # access ends",
        b"expires: 2027-06-30                    # access ends",
    )


@pytest.mark.parametrize("layout", ["2/2/0", "2/4/2", "4/4/2", "4/6/4"])
def test_new_lists_follow_the_files_layout(write_specs: Any, now: datetime, layout: str) -> None:
    mapping, sequence, offset = (int(n) for n in layout.split("/"))
    ind = " " * mapping
    dash = " " * offset + "-" + " " * (sequence - offset - 1)
    specs = write_specs(
        {
            "a.yaml": (
                f"collections:\n{ind}c:\n{ind * 2}id: e56c36e4-1063-11e6-a747-22000bf2d559\n"
                f"{ind * 2}root: /d/\n"
                f"distributions:\n{dash}name: a\n{' ' * sequence}collection: c\n"
                f"{' ' * sequence}path: /d/{{identity_id}}/\n{' ' * sequence}grants: []\n"
            )
        }
    )
    _, changes = edit_and_diff(specs, now, api.add_grant, "a", "u@x.org", expires="2027-01-01")
    pad = " " * sequence
    assert changes["a.yaml"][1] == lines(
        f"{pad}grants:",
        f"{pad}{dash}identity: u@x.org",
        f"{pad}{' ' * sequence}expires: 2027-01-01",
        f"{pad}{' ' * sequence}permissions: r",
    )


def test_the_shipped_specs_take_a_grant_in_every_distribution() -> None:
    """Whatever specs/ holds today, each distribution can be edited (dry run)."""
    now = datetime.fromisoformat("2026-11-26T12:00:00+00:00")
    before = snapshot(LIVE_SPECS)
    intent = load_spec_set([LIVE_SPECS], now=now).intent
    assert intent is not None
    roots = {c.name: c.root for c in intent.collections}
    grants = {g.distribution: g.collection for g in intent.grants}
    assert grants
    for name, collection in sorted(grants.items()):
        result = api.add_grant(
            LIVE_SPECS,
            name,
            "gateway-test@example.org",
            duration="1d",
            path=f"{roots[collection]}gateway-test/",
            dry_run=True,
            now=now,
        )
        assert result.changed
        assert [
            line
            for line in result.diff.splitlines()
            if line.startswith("-") and not line.startswith("---")
        ] == []
    assert snapshot(LIVE_SPECS) == before
