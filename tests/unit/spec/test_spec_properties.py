"""Properties: generated valid spec sets load cleanly and lower with the right counts;
corrupted ones yield located diagnostics, never an exception."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.spec import compute_spec_set

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,8}", fullmatch=True).filter(
    lambda n: len(n) < 30  # never UUID-shaped
)
uuids = st.uuids().map(str)
usernames = st.from_regex(r"[a-z][a-z0-9.]{0,6}@[a-z]{1,6}\.(org|edu)", fullmatch=True)


@st.composite
def expiries(draw: st.DrawFn) -> str:
    instant = NOW + draw(st.timedeltas(min_value=timedelta(days=1), max_value=timedelta(days=29)))
    form = draw(st.sampled_from(["date", "z", "offset"]))
    if form == "date":
        return instant.date().isoformat()
    if form == "z":
        return instant.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return (
        instant.astimezone(dt_offset(draw(st.integers(-12, 14)))).replace(microsecond=0).isoformat()
    )


def dt_offset(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


@dataclass
class Generated:
    files: list[dict[str, Any]]
    collections: int = 0
    groups: int = 0
    grants: int = 0
    memberships: int = 0
    cleanups: dict[str, bool] = field(default_factory=dict)
    """The expected ``cleanup`` of each grant, by its (unique) path."""


@st.composite
def grants_in(
    draw: st.DrawFn, policy: dict[str, Any], root: str, prefix: str, groups: list[str]
) -> list[dict[str, Any]]:
    """Valid grants under ``root`` within ``policy``; ``prefix`` keeps their paths unique."""
    grants = []
    for j in range(draw(st.integers(0, 4))):
        kinds = ["identity", "group"] + (["public"] if policy["allow_public"] else [])
        kind = draw(st.sampled_from(kinds))
        grant: dict[str, Any] = {"path": f"{root}{prefix}-{j}/", "expires": draw(expiries())}
        if kind == "identity":
            grant["identity"] = draw(st.one_of(usernames, uuids))
            grant["notify"] = draw(st.booleans())
            if grant["notify"] and draw(st.booleans()):
                grant["notify_message"] = "Your data is ready"
            if draw(st.booleans()):
                grant["path"] = f"{root}{prefix}-{j}/{{identity_id}}/"
        elif kind == "group":
            grant["group"] = draw(st.sampled_from(groups))
        else:
            grant["public"] = draw(st.sampled_from(["anonymous", "all_authenticated_users"]))
        if policy["max_permissions"] == "rw":
            grant["permissions"] = draw(st.sampled_from(["r", "rw"]))
        if draw(st.booleans()):
            grant["cleanup"] = draw(st.booleans())
        grants.append(grant)
    return grants


@st.composite
def spec_sets(draw: st.DrawFn) -> Generated:
    collection_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    group_names = draw(st.lists(names, max_size=3, unique=True))
    ids = draw(st.lists(uuids, min_size=6, max_size=6, unique=True))
    collections: dict[str, Any] = {}
    for i, name in enumerate(collection_names):
        policy = {
            "max_permissions": draw(st.sampled_from(["r", "rw"])),
            "allow_public": draw(st.booleans()),
            "cleanup": draw(st.booleans()),
            "max_duration": draw(st.sampled_from(["30d", "5w", "720h"])),
        }
        uuid = ids[i].upper() if i == 1 else ids[i]  # upper case is accepted
        collections[name] = {"id": uuid, "root": f"/c{i}/", "policy": policy}
    groups = {name: {"id": ids[3 + i], "max_duration": "30d"} for i, name in enumerate(group_names)}
    generated = Generated(files=[], collections=len(collections), groups=len(groups))
    sections: list[tuple[str, Any]] = [("collections", collections), ("groups", groups)]
    for d, name in enumerate(draw(st.lists(names, max_size=4, unique=True))):
        collection_name = draw(st.sampled_from(collection_names))
        collection = collections[collection_name]
        grants = draw(
            grants_in(collection["policy"], collection["root"], f"d{d}", [*group_names, ids[5]])
        )
        for grant in grants:
            cleanup = grant.get("cleanup", collection["policy"]["cleanup"])
            generated.cleanups[grant["path"]] = cleanup
        generated.grants += len(grants)
        distribution = {"name": name, "collection": collection_name, "grants": grants}
        sections.append(("distributions", [distribution]))
    if group_names:
        for who in draw(st.lists(usernames, max_size=4, unique=True)):
            group = draw(st.sampled_from(group_names))
            membership = {"group": group, "identity": who, "expires": draw(expiries())}
            sections.append(("memberships", [membership]))
            generated.memberships += 1
    # Spread the declarations over one to three files, in any order.
    generated.files = [{} for _ in range(draw(st.integers(1, 3)))]
    for key, value in sections:
        target = draw(st.sampled_from(generated.files))
        if isinstance(value, list):
            target.setdefault(key, []).extend(value)
        elif value:
            target.setdefault(key, {}).update(value)
    return generated


def dump(data: Any) -> bytes:
    out = io.StringIO()
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return out.getvalue().encode()


@SETTINGS
@given(spec_sets())
def test_generated_valid_specs_load_and_lower(generated: Generated) -> None:
    sources = [(f"s{i}.yaml", dump(data)) for i, data in enumerate(generated.files)]
    intent, diagnostics = compute_spec_set(sources, now=NOW)
    assert [d for d in diagnostics if d.severity == "error"] == []
    assert intent is not None
    assert len(intent.collections) == generated.collections
    assert len(intent.groups) == generated.groups
    assert len(intent.grants) == generated.grants
    assert len(intent.memberships) == generated.memberships
    assert {g.path: g.cleanup for g in intent.grants} == generated.cleanups
    declared_groups = {g.id for g in intent.groups}
    for grant in intent.grants:
        assert grant.expires > NOW
        assert grant.path.startswith(
            next(c.root for c in intent.collections if c.name == grant.collection)
        )
        if grant.principal.kind == "group":
            assert grant.principal.value in declared_groups or len(grant.principal.value) == 36
    assert all(c.id == c.id.lower() for c in intent.collections)


EXAMPLE = dump(
    {
        "collections": {"c": {"id": "11111111-2222-3333-4444-555555555555", "root": "/c/"}},
        "groups": {"g": {"id": "21111111-2222-3333-4444-555555555555"}},
        "distributions": [
            {
                "name": "d",
                "collection": "c",
                "path": "/c/{identity_id}/",
                "grants": [
                    {"identity": "a@b.org", "expires": "2026-12-01", "notify": True},
                    {"group": "g", "path": "/c/shared/", "expires": "2026-12-01T00:00:00Z"},
                ],
            }
        ],
        "memberships": [{"group": "g", "identity": "a@b.org", "expires": "2026-12-01"}],
    }
)
WRONG_VALUES = [
    "[1, 2]",
    "{a: 1}",
    "123",
    "true",
    "~",
    "''",
    "&x [*x]",
    "!!binary aGk=",
    "'{'",
    "{{",
]


@st.composite
def corruptions(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([EXAMPLE, EXAMPLE.replace(b"  ", b"    ")])))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["byte", "delete-line", "wrong-value", "insert"]))
        lines = bytes(data).split(b"\n")
        if action == "byte" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == "delete-line":
            del lines[draw(st.integers(0, len(lines) - 1))]
            data = bytearray(b"\n".join(lines))
        elif action == "wrong-value":
            i = draw(st.integers(0, len(lines) - 1))
            key, sep, _ = lines[i].partition(b": ")
            if sep:
                lines[i] = key + sep + draw(st.sampled_from(WRONG_VALUES)).encode()
                data = bytearray(b"\n".join(lines))
        else:
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(
                st.sampled_from([b"\t", b"- ", b": ", b"\x00", b"\xff", b"---\n", b"*y"])
            )
    return bytes(data)


@SETTINGS
@given(corruptions())
def test_corrupted_specs_yield_located_diagnostics(raw: bytes) -> None:
    intent, diagnostics = compute_spec_set([("x.yaml", raw)], now=NOW)
    for diagnostic in diagnostics:
        assert diagnostic.file == "x.yaml"
        assert diagnostic.line >= 1
        assert diagnostic.col >= 1
        assert diagnostic.message
        assert "internal error" not in diagnostic.message
    has_errors = any(d.severity == "error" for d in diagnostics)
    assert (intent is None) == has_errors


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    intent, diagnostics = compute_spec_set([("x.yaml", raw)], now=NOW)
    assert all(d.line >= 1 and d.message and "internal error" not in d.message for d in diagnostics)
    assert (intent is None) == any(d.severity == "error" for d in diagnostics)
