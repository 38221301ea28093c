"""The spec language, table-driven: each case is a file checked next to ``base.yaml``.

Bad cases list every diagnostic expected, exactly (line, column, severity and a piece of
the message), so an extra or a missing diagnostic fails the test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from textwrap import dedent

import pytest

from reconciler.core.intent import Intent, Origin, PrincipalRef, StageSource
from reconciler.spec import Diagnostic, compute_spec_set
from tests.unit.spec.conftest import NOW

Check = Callable[[Mapping[str, str | bytes]], tuple[Intent | None, tuple[Diagnostic, ...]]]

PETREL = "e56c36e4-1063-11e6-a747-22000bf2d559"
SHARE = "11111111-2222-3333-4444-555555555555"
OMICS = "b4cada3a-af7c-11e3-8b90-1231391ccf32"
ALICE_ID = "0b3c9f2a-1d2e-4f5a-8b6c-7d8e9f0a1b2c"

BASE = f"""\
collections:
  petrel:
    id: {PETREL}
    root: /disthome/
    policy: {{max_duration: 30d, cleanup: true}}
  share:
    id: {SHARE}
    root: /pub/
    policy: {{max_permissions: rw, allow_public: true}}
groups:
  dot-omics:
    id: {OMICS}
    max_duration: 90d
"""


def spec(text: str) -> str:
    return dedent(text).lstrip("\n")


def grant(body: str, *, distribution: str = "run42", collection: str = "petrel") -> str:
    """A one-grant distribution; ``body`` is the grant's keys, so its first key is on line 5."""
    lines = dedent(body).strip("\n").splitlines()
    items = "\n".join(("      - " if i == 0 else "        ") + line for i, line in enumerate(lines))
    head = f"distributions:\n  - name: {distribution}\n    collection: {collection}\n"
    return f"{head}    grants:\n{items}\n"


Expected = list[tuple[int, int, str, str]]

BAD: dict[str, tuple[str, Expected]] = {
    "misspelt top-level key": ("colections: {}\n", [(1, 1, "error", "unknown key `colections`")]),
    "top level is a list": ("- petrel\n", [(1, 1, "error", "must be a mapping")]),
    "section of the wrong type": (
        "distributions: {}\n",
        [(1, 16, "error", "`distributions` must be a list, got a mapping")],
    ),
    "empty section": ("memberships:\n", [(1, 1, "error", "`memberships` must be a list")]),
    "misspelt key in a grant": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpire: 2026-12-01"),
        [(5, 9, "error", "needs the key `expires`"), (7, 9, "error", "unknown key `expire`")],
    ),
    "missing grants": (
        "distributions:\n  - name: run42\n    collection: petrel\n",
        [(2, 5, "error", "needs the key `grants`")],
    ),
    "username without @": (
        grant("identity: alice\npath: /disthome/a/\nexpires: 2026-12-01"),
        [(5, 19, "error", "neither an identity UUID nor a username")],
    ),
    "malformed identity UUID": (
        grant(
            "identity: 0b3c9f2a-1d2e-4f5a-8b6c-7d8e9f0a1b2\npath: /disthome/a/\nexpires: 2026-12-01"
        ),
        [(5, 19, "error", "is not a UUID")],
    ),
    "no principal": (
        grant("path: /disthome/a/\nexpires: 2026-12-01"),
        [(5, 9, "error", "needs one of `identity`, `group` or `public`")],
    ),
    "two principals": (
        grant("identity: a@b.org\ngroup: dot-omics\npath: /disthome/a/\nexpires: 2026-12-01"),
        [(6, 9, "error", "names both `identity` and `group`")],
    ),
    "notify on a group grant": (
        grant("group: dot-omics\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: true"),
        [(8, 9, "error", "`notify` is only for identity grants")],
    ),
    "revoke_after_download on a public grant": (
        grant(
            "public: anonymous\npath: /pub/a/\nexpires: 2026-12-01\nrevoke_after_download: true",
            collection="share",
        ),
        [(8, 9, "error", "`revoke_after_download` is only for identity grants")],
    ),
    "notify_email without notify": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify_email: a@lab.org"
        ),
        [(8, 9, "error", "`notify_email` says where to send the notification")],
    ),
    "notify_email that is not an address": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: true\n"
            "notify_email: alice at lab"
        ),
        [(9, 23, "error", "is not an email address")],
    ),
    "notify_email with an escape character": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: true\n"
            'notify_email: "a\\e[31m@lab.org"'
        ),
        [(9, 23, "error", "`a\\x1b[31m@lab.org` is not an email address")],
    ),
    "empty notify": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: ''"),
        [(8, 17, "error", "`notify` must be `true` or `false`, got the string ``")],
    ),
    "notify: no": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: no"),
        [(8, 17, "error", "not the string `no`: did you mean false?")],
    ),
    "notify: quoted false": (
        grant('identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: "false"'),
        [(8, 17, "error", "not the string `false`: did you mean false?")],
    ),
    "notify: Yes": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: Yes"),
        [(8, 17, "error", "not the string `Yes`: did you mean true?")],
    ),
    "notify: OFF": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: OFF"),
        [(8, 17, "error", "not the string `OFF`: did you mean false?")],
    ),
    "notify: on": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: on"),
        [(8, 17, "error", "not the string `on`: did you mean true?")],
    ),
    "notify: 'TRUE'": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: 'TRUE'"),
        [(8, 17, "error", "not the string `TRUE`: did you mean true?")],
    ),
    "message text in notify": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: Data ready"),
        [(8, 17, "error", "`notify` must be `true` or `false`, got the string `Data ready`")],
    ),
    "revoke_after_download: no": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nrevoke_after_download: no"
        ),
        [(8, 32, "error", "not the string `no`: did you mean false?")],
    ),
    "empty notify message": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: true\n"
            "notify_message: ''"
        ),
        [(9, 25, "error", "`notify_message` is empty")],
    ),
    "notify message without notify": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify_message: Data ready"
        ),
        [(8, 9, "error", "`notify_message` is sent only with `notify: true`")],
    ),
    "notify message on a group grant": (
        grant("group: dot-omics\npath: /disthome/a/\nexpires: 2026-12-01\nnotify_message: Hi"),
        [(8, 9, "error", "`notify_message` is only for identity grants")],
    ),
    "zero-width space after a username": (
        grant("identity: alice@example.org\u200b\npath: /disthome/a/\nexpires: 2026-12-01"),
        [
            (
                5,
                36,
                "error",
                "contains U+200B ZERO WIDTH SPACE (an invisible character) at column 36",
            )
        ],
    ),
    "Cyrillic a in a username": (
        grant("identity: \u0430lice@example.org\npath: /disthome/a/\nexpires: 2026-12-01"),
        [(5, 19, "error", "U+0430 CYRILLIC SMALL LETTER A (a look-alike of `a`) at column 19")],
    ),
    "no-break space in a quoted username": (
        grant('identity: "alice@example.org\u00a0"\npath: /disthome/a/\nexpires: 2026-12-01'),
        [(5, 37, "error", "U+00A0 NO-BREAK SPACE (whitespace) at column 37")],
    ),
    "space inside a username": (
        grant("identity: alice @example.org\npath: /disthome/a/\nexpires: 2026-12-01"),
        [(5, 24, "error", "U+0020 SPACE (whitespace) at column 24")],
    ),
    "byte order mark in a group UUID": (
        grant(f"group: \ufeff{OMICS}\npath: /disthome/a/\nexpires: 2026-12-01"),
        [
            (
                5,
                16,
                "error",
                "U+FEFF ZERO WIDTH NO-BREAK SPACE (an invisible character) at column 16",
            )
        ],
    ),
    "zero-width space in a path": (
        grant("identity: a@b.org\npath: /disthome/a\u200b/\nexpires: 2026-12-01"),
        [(6, 26, "error", "path `/disthome/a\\u200b/` contains U+200B ZERO WIDTH SPACE")],
    ),
    "right-to-left override in a path": (
        grant("identity: a@b.org\npath: /disthome/\u202eab/\nexpires: 2026-12-01"),
        [(6, 25, "error", "U+202E RIGHT-TO-LEFT OVERRIDE (an invisible character) at column 25")],
    ),
    "Cyrillic letter among Latin ones in a path": (
        grant("identity: a@b.org\npath: /disthome/d\u0430ta/\nexpires: 2026-12-01"),
        [(6, 26, "error", "U+0430 CYRILLIC SMALL LETTER A (a letter of another script")],
    ),
    "full-width letter in a path": (
        grant("identity: a@b.org\npath: /disthome/\uff41/\nexpires: 2026-12-01"),
        [(6, 25, "error", "U+FF41 FULLWIDTH LATIN SMALL LETTER A (a look-alike of `a`)")],
    ),
    "space at the end of a path name": (
        grant("identity: a@b.org\npath: '/disthome/a /'\nexpires: 2026-12-01"),
        [(6, 27, "error", "has a space at the start or end of a name at column 27")],
    ),
    "no-break space in a membership's username": (
        "memberships:\n  - group: dot-omics\n    identity: bob\u00a0@b.org\n"
        "    expires: 2026-12-01\n",
        [(3, 18, "error", "U+00A0 NO-BREAK SPACE (whitespace) at column 18")],
    ),
    "public without allow_public": (
        grant("public: anonymous\npath: /disthome/a/\nexpires: 2026-12-01"),
        [(5, 17, "error", "does not allow public grants")],
    ),
    "permissions above the policy": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\npermissions: rw"),
        [(8, 22, "error", "permissions `rw` exceed the policy")],
    ),
    "permissions not r or rw": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\npermissions: w"),
        [(8, 22, "error", "`permissions` must be `r` or `rw`, got the string `w`")],
    ),
    "path without trailing slash": (
        grant("identity: a@b.org\npath: /disthome/a\nexpires: 2026-12-01"),
        [(6, 15, "error", "must end with `/`")],
    ),
    "relative path": (
        grant("identity: a@b.org\npath: disthome/a/\nexpires: 2026-12-01"),
        [(6, 15, "error", "must start with `/`")],
    ),
    "empty segment": (
        grant("identity: a@b.org\npath: /disthome//a/\nexpires: 2026-12-01"),
        [(6, 15, "error", "empty segment")],
    ),
    "dot segment": (
        grant("identity: a@b.org\npath: /disthome/./a/\nexpires: 2026-12-01"),
        [(6, 15, "error", "`.` or `..` segment")],
    ),
    "backslash": (
        grant("identity: a@b.org\npath: '/disthome/a\\b/'\nexpires: 2026-12-01"),
        [(6, 15, "error", "contains a backslash")],
    ),
    "control character from an escape": (
        grant('identity: a@b.org\npath: "/disthome/a\\tb/"\nexpires: 2026-12-01'),
        [
            (
                6,
                15,
                "error",
                "U+0009 CHARACTER TABULATION (a control character) at character 12 of the value",
            )
        ],
    ),
    "unknown placeholder": (
        grant("identity: a@b.org\npath: /disthome/{identity}/\nexpires: 2026-12-01"),
        [(6, 15, "error", "unknown placeholder `{identity}`")],
    ),
    "unmatched brace": (
        grant("identity: a@b.org\npath: /disthome/{identity_id/\nexpires: 2026-12-01"),
        [(6, 15, "error", "unmatched")],
    ),
    "group placeholder on an identity grant": (
        grant("identity: a@b.org\npath: /disthome/{group_id}/\nexpires: 2026-12-01"),
        [(6, 15, "error", "`{group_id}` in `/disthome/{group_id}/` only works in group grants")],
    ),
    "identity placeholder inherited by a group grant": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                path: /disthome/{identity_id}/
                grants:
                  - group: dot-omics
                    expires: 2026-12-01
            """),
        [(6, 9, "error", "(the path of distribution `run42`) only works in identity grants")],
    ),
    "placeholder in a root": (
        "collections:\n  c:\n    id: 11111111-2222-3333-4444-000000000000\n"
        "    root: /{distribution}/\n",
        [(4, 11, "error", "contains a placeholder")],
    ),
    "no path anywhere": (
        grant("identity: a@b.org\nexpires: 2026-12-01"),
        [(5, 9, "error", "has no `path`, and distribution `run42` has none either")],
    ),
    "root as a grant path": (
        grant("identity: a@b.org\npath: /disthome/\nexpires: 2026-12-01"),
        [(6, 15, "error", "is the root of collection `petrel`")],
    ),
    "grant path outside the root": (
        grant("identity: a@b.org\npath: /pub/a/\nexpires: 2026-12-01"),
        [(6, 15, "error", "outside the root `/disthome/`")],
    ),
    "distribution path outside the root, reported once": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                path: /elsewhere/
                grants:
                  - identity: a@b.org
                    expires: 2026-12-01
                  - identity: b@b.org
                    expires: 2026-12-01
            """),
        [(4, 11, "error", "`/elsewhere/` is outside the root")],
    ),
    "naive datetime": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01T08:00:00"),
        [(7, 18, "error", "`2026-12-01T08:00:00` has no timezone")],
    ),
    "naive datetime, quoted, with a space": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: '2026-12-01 08:00'"),
        [(7, 18, "error", "`2026-12-01 08:00` has no timezone")],
    ),
    "impossible date": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-02-30"),
        [(7, 18, "error", "not a real instant")],
    ),
    "expires as a number": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 20261201"),
        [(7, 18, "error", "expected a date or a datetime, got the number `20261201`")],
    ),
    "expiry beyond the collection's max_duration": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-27"),
        [(7, 18, "error", "its max_duration 30d means no later than 2026-12-26T12:00:00Z")],
    ),
    "membership beyond the group's max_duration": (
        "memberships:\n  - {group: dot-omics, identity: a@b.org, expires: 2027-03-01}\n",
        [(2, 52, "error", "later than group `dot-omics` allows")],
    ),
    "unknown collection": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01", collection="petrol"),
        [(3, 17, "error", "unknown collection `petrol`")],
    ),
    "unknown group": (
        grant("group: dot-omic\npath: /disthome/a/\nexpires: 2026-12-01"),
        [(5, 16, "error", "unknown group `dot-omic`")],
    ),
    "membership of an unknown group name": (
        "memberships:\n  - group: omics\n    identity: a@b.org\n    expires: 2026-12-01\n",
        [(2, 12, "error", "unknown group `omics`")],
    ),
    "membership of an undeclared group UUID": (
        "memberships:\n  - group: 22222222-2222-3333-4444-555555555555\n"
        "    identity: a@b.org\n    expires: 2026-12-01\n",
        [(2, 12, "error", "is not declared under `groups:`")],
    ),
    "stage from an unknown collection": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                stage: {collection: petrl, path: /data/}
                grants: []
            """),
        [(4, 25, "error", "unknown collection `petrl`")],
    ),
    "uppercase collection name": (
        "collections:\n  Petrel:\n    id: 11111111-2222-3333-4444-000000000000\n    root: /x/\n",
        [(2, 3, "error", "`Petrel` is not a valid name")],
    ),
    "name that looks like a UUID": (
        "groups:\n  22222222-2222-3333-4444-555555555555:\n"
        "    id: 22222222-2222-3333-4444-555555555555\n",
        [(2, 3, "error", "looks like a UUID")],
    ),
    "members not additive or exclusive": (
        "groups:\n  g2:\n    id: 22222222-2222-3333-4444-555555555555\n    members: all\n",
        [(4, 14, "error", "`members` must be `additive` or `exclusive`")],
    ),
    "bad durations": (
        "groups:\n  g2:\n    id: 22222222-2222-3333-4444-555555555555\n    max_duration: 0d\n"
        "  g3:\n    id: 33333333-2222-3333-4444-555555555555\n    max_duration: 30x\n",
        [(4, 19, "error", "`0d` is zero"), (7, 19, "error", "`30x` is not a duration")],
    ),
    "duplicate distribution name in one file": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01")
        + "  - name: run42\n    collection: petrel\n    grants: []\n",
        [(8, 11, "error", "distribution `run42` is already declared at case.yaml:2:5")],
    ),
    "collection declared in two files": (
        "collections:\n  petrel:\n    id: 11111111-2222-3333-4444-000000000000\n    root: /x/\n",
        [(2, 3, "error", "collection `petrel` is already declared at base.yaml:2:3")],
    ),
    "one collection UUID under two names": (
        f"collections:\n  petrel2:\n    id: {PETREL.upper()}\n    root: /disthome/\n",
        [(3, 9, "error", "is already declared as `petrel` at base.yaml:2:3")],
    ),
    "conflicting grants": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                path: /disthome/run42/
                grants:
                  - {identity: a@b.org, expires: 2026-12-01}
                  - {identity: A@b.org, expires: 2026-12-01, permissions: r, cleanup: false}
            """),
        [(7, 9, "error", "conflicts with the grant at case.yaml:6:9")],
    ),
    "conflict through a filled-in placeholder": (
        spec(f"""
            distributions:
              - name: run42
                collection: petrel
                grants:
                  - {{identity: {ALICE_ID}, path: '/disthome/{{identity_id}}/',
                     expires: 2026-12-01}}
              - name: run43
                collection: petrel
                grants:
                  - {{identity: {ALICE_ID}, path: /disthome/{ALICE_ID}/, expires: 2026-12-02}}
            """),
        [(10, 9, "error", "different expires (2026-12-01T00:00:00Z vs 2026-12-02T00:00:00Z)")],
    ),
    "conflicting memberships": (
        "memberships:\n  - {group: dot-omics, identity: a@b.org, expires: 2026-12-01}\n"
        f"  - {{group: {OMICS}, identity: a@b.org, expires: 2026-12-02}}\n",
        [(3, 5, "error", "conflicts with the membership at case.yaml:2:5")],
    ),
    "a broken collection is not also unknown": (
        "collections:\n  c2:\n    id: nope\n    root: /c2/\n"
        + grant("identity: a@b.org\nexpires: 2026-12-01\npath: /c2/a/", collection="c2"),
        [(3, 9, "error", "`nope` is not a UUID")],
    ),
    "a bad grant does not hide its distribution's other errors": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: tomorrow", collection="petrol"),
        [(3, 17, "error", "unknown collection"), (7, 18, "error", "`tomorrow` is not a date")],
    ),
    "duplicate key": (
        "groups:\n  g2:\n    id: 22222222-2222-3333-4444-555555555555\n"
        "    id: 33333333-2222-3333-4444-555555555555\n",
        [(4, 5, "error", "duplicate key `id` (first written at line 3, column 5)")],
    ),
    "unsupported tag": (
        "groups:\n  g2:\n    id: !uuid 22222222-2222-3333-4444-555555555555\n",
        [(3, 9, "error", "unsupported YAML tag `!uuid`")],
    ),
}


@pytest.mark.parametrize(("text", "expected"), BAD.values(), ids=BAD.keys())
def test_bad_spec_reports_exactly(check: Check, text: str, expected: Expected) -> None:
    intent, diagnostics = check({"base.yaml": BASE, "case.yaml": text})
    got = [(d.file, d.line, d.col, d.severity) for d in diagnostics]
    assert got == [("case.yaml", line, col, sev) for line, col, sev, _ in expected], diagnostics
    for diagnostic, (*_, fragment) in zip(diagnostics, expected, strict=True):
        assert fragment in diagnostic.message, diagnostic
    assert intent is None


HINTS: dict[str, tuple[str, str]] = {
    "top-level key": ("colections: {}\n", "did you mean `collections`?"),
    "grant key": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nrevoke_after: true"),
        "did you mean `revoke_after_download`?",
    ),
    "collection name": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01", collection="petrol"),
        "did you mean `petrel`?",
    ),
    "naive datetime": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01 08:00"),
        "write `2026-12-01T08:00:00Z` for UTC",
    ),
    "placeholder": (
        grant("identity: a@b.org\npath: /disthome/{identity}/\nexpires: 2026-12-01"),
        "did you mean `identity_id`?",
    ),
    "missing expires": (
        grant("identity: a@b.org\npath: /disthome/a/"),
        "add `expires: YYYY-MM-DD`",
    ),
    "empty section": ("memberships:\n", "for none, write `[]` or remove the key"),
}


@pytest.mark.parametrize(("text", "hint"), HINTS.values(), ids=HINTS.keys())
def test_errors_say_how_to_fix_them(check: Check, text: str, hint: str) -> None:
    _, diagnostics = check({"base.yaml": BASE, "case.yaml": text})
    assert [d.hint for d in diagnostics if d.hint and hint in d.hint], diagnostics


def only_grant(intent: Intent) -> None:
    assert len(intent.grants) == 1


GOOD: dict[str, tuple[str, Callable[[Intent], object]]] = {
    "date means 00:00 UTC at the start of the day": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01"),
        lambda i: i.grants[0].expires == datetime(2026, 12, 1, tzinfo=UTC),
    ),
    "quoted date is the same": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: '2026-12-01'"),
        lambda i: i.grants[0].expires == datetime(2026, 12, 1, tzinfo=UTC),
    ),
    "offset datetime is converted to UTC": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01T00:30:00+01:00"),
        lambda i: i.grants[0].expires == datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
    ),
    "cleanup defaults to the collection policy": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01"),
        lambda i: i.grants[0].cleanup is True and i.collections[0].cleanup is True,
    ),
    "cleanup overridden by the grant": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\ncleanup: false"),
        lambda i: i.grants[0].cleanup is False,
    ),
    "group name resolves to its UUID": (
        grant("group: dot-omics\npath: /disthome/{group_id}/\nexpires: 2026-12-01"),
        lambda i: i.grants[0].principal == PrincipalRef("group", OMICS),
    ),
    "undeclared group UUID is used as is": (
        grant(
            "group: 22222222-2222-3333-4444-555555555555\npath: /disthome/g/\nexpires: 2026-12-01"
        ),
        lambda i: i.grants[0].principal.value == "22222222-2222-3333-4444-555555555555",
    ),
    "upper-case UUIDs are lowered": (
        grant(f"identity: {ALICE_ID.upper()}\npath: /disthome/a/\nexpires: 2026-12-01"),
        lambda i: i.grants[0].principal == PrincipalRef("identity", ALICE_ID),
    ),
    "notify message": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: true\n"
            "notify_message: Your data is ready"
        ),
        lambda i: (i.grants[0].notify, i.grants[0].notify_message) == (True, "Your data is ready"),
    ),
    "notify_email": (
        grant(
            "identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01\nnotify: true\n"
            "notify_email: alice.smith@lab.org"
        ),
        lambda i: (i.grants[0].notify, i.grants[0].notify_email) == (True, "alice.smith@lab.org"),
    ),
    "accented letters, other scripts and inner spaces in paths": (
        grant(
            "identity: a@b.org\npath: /disthome/donn\u00e9es/\u0434\u0430\u043d\u043d\u044b\u0435/"
            "my data/\nexpires: 2026-12-01"
        ),
        lambda i: (
            i.grants[0].path
            == "/disthome/donn\u00e9es/\u0434\u0430\u043d\u043d\u044b\u0435/my data/"
        ),
    ),
    "usernames with plain ASCII punctuation": (
        grant(
            "identity: 0000-0002-1825-0097+x_y.z@orcid.org\npath: /disthome/a/\nexpires: 2026-12-01"
        ),
        lambda i: i.grants[0].principal.value == "0000-0002-1825-0097+x_y.z@orcid.org",
    ),
    "public grant where allowed, rw within policy": (
        grant(
            "public: all_authenticated_users\npath: /pub/{distribution}/\nexpires: 2027-06-01\n"
            "permissions: rw",
            collection="share",
        ),
        lambda i: (
            (i.grants[0].principal.kind, i.grants[0].permissions, i.grants[0].path)
            == ("all_authenticated_users", "rw", "/pub/{distribution}/")
        ),
    ),
    "distribution path is the default, placeholders kept": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                path: /disthome/{identity_id}/
                stage: {collection: share, path: /datasets/run42/}
                grants:
                  - {identity: a@b.org, expires: 2026-12-01, revoke_after_download: true}
            """),
        lambda i: (
            (i.grants[0].path, i.grants[0].stage, i.grants[0].revoke_after_download)
            == ("/disthome/{identity_id}/", StageSource(SHARE, "/datasets/run42/"), True)
        ),
    ),
    "stage from a collection UUID": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                stage: {collection: 22222222-2222-3333-4444-555555555555, path: /d/}
                grants: [{identity: a@b.org, path: /disthome/a/, expires: 2026-12-01}]
            """),
        lambda i: i.grants[0].stage == StageSource("22222222-2222-3333-4444-555555555555", "/d/"),
    ),
    "same path text in two distributions differs by {distribution}": (
        grant("identity: a@b.org\npath: /disthome/{distribution}/\nexpires: 2026-12-01")
        + "  - name: run43\n    collection: petrel\n    grants:\n"
        "      - {identity: a@b.org, path: '/disthome/{distribution}/', expires: 2026-12-02}\n",
        lambda i: len(i.grants) == 2,
    ),
    "origin is the grant's mapping": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01"),
        lambda i: i.grants[0].origin == Origin("case.yaml", 5, 9),
    ),
    "memberships by group name or UUID": (
        "memberships:\n  - {group: dot-omics, identity: a@b.org, expires: 2026-12-01}\n"
        f"  - {{group: {OMICS.upper()}, identity: b@b.org, expires: 2026-12-01}}\n",
        lambda i: (
            [(m.group, m.group_id, m.identity) for m in i.memberships]
            == [("dot-omics", OMICS, "a@b.org"), ("dot-omics", OMICS, "b@b.org")]
        ),
    ),
    "documents of one file share names": (
        "---\n"
        + grant("identity: a@b.org\npath: /late/a/\nexpires: 2026-12-01", collection="late")
        + "---\ncollections:\n  late: {id: 22222222-2222-3333-4444-555555555555, root: /late/}\n",
        lambda i: i.grants[0].collection_id == "22222222-2222-3333-4444-555555555555",
    ),
    "merge keys and anchors": (
        spec("""
            distributions:
              - name: run42
                collection: petrel
                grants:
                  - &alice {identity: a@b.org, path: /disthome/a/, expires: 2026-12-01}
                  - {<<: *alice, path: /disthome/b/}
            """),
        lambda i: [g.path for g in i.grants] == ["/disthome/a/", "/disthome/b/"],
    ),
    "empty grants and empty file": ("", lambda i: len(i.collections) == 2 and not i.grants),
}


@pytest.mark.parametrize(("text", "holds"), GOOD.values(), ids=GOOD.keys())
def test_good_spec_lowers(check: Check, text: str, holds: Callable[[Intent], object]) -> None:
    intent, diagnostics = check({"base.yaml": BASE, "case.yaml": text})
    assert diagnostics == ()
    assert intent is not None
    assert holds(intent)


WARNINGS: dict[str, tuple[str, Expected, int]] = {
    "expired grant": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-11-26"),
        [(7, 18, "warning", "expired at 2026-11-26T00:00:00Z")],
        1,
    ),
    "expiry exactly now": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-11-26T12:00:00Z"),
        [(7, 18, "warning", "expired")],
        1,
    ),
    "identical grants are kept once": (
        grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-01")
        + "  - name: run43\n    collection: petrel\n    grants:\n"
        "      - {identity: a@b.org, path: /disthome/a/, expires: 2026-12-01T00:00:00Z}\n",
        [(11, 9, "warning", "repeats the grant at case.yaml:5:9")],
        1,
    ),
}


@pytest.mark.parametrize(("text", "expected", "grants"), WARNINGS.values(), ids=WARNINGS.keys())
def test_warnings_keep_the_spec_valid(
    check: Check, text: str, expected: Expected, grants: int
) -> None:
    intent, diagnostics = check({"base.yaml": BASE, "case.yaml": text})
    assert [(d.line, d.col, d.severity) for d in diagnostics] == [e[:3] for e in expected]
    assert expected[0][3] in diagnostics[0].message
    assert intent is not None
    assert len(intent.grants) == grants


def test_expiry_exactly_at_the_cap_is_allowed(check: Check) -> None:
    text = grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-26T12:00:00Z")
    intent, diagnostics = check({"base.yaml": BASE, "case.yaml": text})
    assert diagnostics == ()
    assert intent is not None


def test_the_cap_is_named_in_whole_seconds_when_now_has_a_fraction() -> None:
    # `grant add --for 1000d` validates at the current instant, which has microseconds:
    # the latest allowed instant is shown rounded down, as a spec would write it.
    text = grant("identity: a@b.org\npath: /disthome/a/\nexpires: 2026-12-27")
    sources = [("base.yaml", BASE.encode()), ("case.yaml", text.encode())]
    _, diagnostics = compute_spec_set(sources, now=NOW + timedelta(microseconds=766731))
    assert [d.message for d in diagnostics if d.severity == "error"] == [
        "expires 2026-12-27T00:00:00Z, later than collection `petrel` allows: its "
        "max_duration 30d means no later than 2026-12-26T12:00:00Z"
    ]


def test_unknown_names_mention_a_file_that_could_not_be_read(check: Check) -> None:
    broken = "collections:\n  petrel: {id: e56c36e4-1063-11e6-a747-22000bf2d559, root: /d/\n"
    text = grant("identity: a@b.org\npath: /d/a/\nexpires: 2026-12-01")
    _, diagnostics = check({"collections.yaml": broken, "case.yaml": text})
    assert [(d.file, d.line, d.message.split(":")[0]) for d in diagnostics] == [
        ("case.yaml", 3, "unknown collection `petrel`"),
        ("collections.yaml", 2, "invalid YAML"),
    ]
    assert "fix collections.yaml: it could not be read" in str(diagnostics[0].hint)
