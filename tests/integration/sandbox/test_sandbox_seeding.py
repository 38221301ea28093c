"""Seeding a world from an Intent (hand-built and loaded from spec files)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import globus_sdk
import pytest

from reconciler.core.intent import (
    CollectionIntent,
    GrantIntent,
    GroupIntent,
    Intent,
    MembershipIntent,
    Origin,
    PrincipalRef,
    StageSource,
)
from reconciler.sandbox.local_control import LocalControl
from reconciler.sandbox.seeding import SAMPLE_FILES, compute_seed, seed_from_intent
from reconciler.spec import load_spec_set

GUEST = "e56c36e4-1063-11e6-a747-22000bf2d559"
SOURCE = "0b3c0000-1063-11e6-a747-22000bf2d559"
GROUP = "b4cada3a-af7c-11e3-8b90-1231391ccf32"
OTHER_GROUP = "c0ffee00-af7c-11e3-8b90-1231391ccf32"
BOB_ID = "0e0e0e0e-1111-4222-8333-444444444444"
HERE = Origin("specs/x.yaml", 1, 1)
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def _grant(principal: PrincipalRef, path: str, stage: StageSource | None = None) -> GrantIntent:
    return GrantIntent(
        distribution="run42",
        collection="petrel",
        collection_id=GUEST,
        principal=principal,
        path=path,
        permissions="r",
        expires=EXPIRES,
        notify=False,
        notify_message=None,
        revoke_after_download=False,
        cleanup=True,
        stage=stage,
        origin=HERE,
    )


INTENT = Intent(
    collections=(CollectionIntent("petrel", GUEST, "/disthome/", True, HERE),),
    groups=(GroupIntent("dot-omics", GROUP, "additive", HERE),),
    grants=(
        _grant(
            PrincipalRef("identity", "alice@uchicago.edu"),
            "/disthome/run42/",
            StageSource(SOURCE, "/datasets/run42/"),
        ),
        _grant(PrincipalRef("identity", BOB_ID), "/disthome/bob/"),
        _grant(PrincipalRef("group", OTHER_GROUP), "/disthome/shared/"),
    ),
    memberships=(MembershipIntent("dot-omics", GROUP, "carol@example.org", EXPIRES, HERE),),
)


def _without_time(dump: dict) -> dict:
    return {k: v for k, v in dump.items() if k != "now"}


def test_seed_with_client_roles_is_idempotent(sandbox) -> None:
    seed_from_intent(sandbox.control, INTENT, client_id=sandbox.client_id)
    first = sandbox.control.dump()
    seed_from_intent(sandbox.control, INTENT, client_id=sandbox.client_id)
    assert _without_time(sandbox.control.dump()) == _without_time(first)

    collections = {c["id"]: c for c in first["collections"]}
    assert set(collections) == {GUEST, SOURCE}
    assert {"path": "/disthome", "type": "dir", "size": 0, "checksum": None} in collections[GUEST][
        "tree"
    ]
    staged = {e["path"] for e in collections[SOURCE]["tree"] if e["type"] == "file"}
    assert staged == {f"/datasets/run42/{name}" for name, _ in SAMPLE_FILES}
    for collection in collections.values():
        roles = {(r["principal"], r["role"]) for r in collection["roles"]}
        assert roles == {
            (sandbox.client_id, "access_manager"),
            (sandbox.client_id, "activity_monitor"),
        }

    usernames = {i["username"]: i["id"] for i in first["identities"]}
    assert {"alice@uchicago.edu", "carol@example.org"} <= set(usernames)
    assert BOB_ID in usernames.values()
    groups = {g["id"]: g for g in first["groups"]}
    assert set(groups) == {GROUP, OTHER_GROUP}
    assert groups[GROUP]["name"] == "dot-omics"
    assert [(m["identity_id"], m["role"]) for m in groups[GROUP]["memberships"]] == [
        (sandbox.client_id, "admin")
    ]
    assert first["settings"]["open_roles"] is False


def test_seed_without_client_opens_roles(sandbox, app_factory) -> None:
    assert compute_seed(INTENT, client_id=None)["settings"] == {"open_roles": True}
    seed_from_intent(sandbox.control, INTENT)
    with globus_sdk.TransferClient(app=app_factory(str(uuid.uuid4()))) as anyone:
        assert anyone.endpoint_acl_list(GUEST)["DATA"] == []


def test_seed_a_database_file_directly(tmp_path) -> None:
    with LocalControl(tmp_path / "world.db") as local:
        seed_from_intent(local, INTENT, client_id="cli-client")
        dump = local.dump()
    assert {c["id"] for c in dump["collections"]} == {GUEST, SOURCE}


SPEC = """
collections:
  petrel:
    id: e56c36e4-1063-11e6-a747-22000bf2d559
    root: /disthome/
groups:
  dot-omics:
    id: b4cada3a-af7c-11e3-8b90-1231391ccf32
distributions:
  - name: run42
    collection: petrel
    path: /disthome/run42/
    grants:
      - identity: alice@uchicago.edu
        expires: 2030-01-01
memberships:
  - group: dot-omics
    identity: carol@example.org
    expires: 2030-01-01
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "run42.yaml").write_text(SPEC)
    return folder


def test_seed_from_loaded_specs(sandbox, spec_dir) -> None:
    loaded = load_spec_set([spec_dir], now=datetime(2026, 1, 1, tzinfo=UTC))
    assert loaded.ok, [str(d) for d in loaded.diagnostics]
    assert loaded.intent is not None
    seed_from_intent(sandbox.control, loaded.intent, client_id=sandbox.client_id)
    dump = sandbox.control.dump()
    assert [c["display_name"] for c in dump["collections"]] == ["petrel"]
    assert {"alice@uchicago.edu", "carol@example.org"} <= {
        i["username"] for i in dump["identities"]
    }
