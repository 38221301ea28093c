"""No bad input makes an edit crash: over the validator's corpus of broken spec sets and
over arbitrary file contents, every operation either succeeds with a valid result or is
refused with ``EditRefused`` (nothing written), never another exception."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import api
from reconciler.spec import load_spec_set

from .conftest import NOW, ROOT, snapshot

CORPUS = ROOT / "tests" / "data" / "bad_specs"
OPERATIONS: list[tuple[Callable[..., api.EditResult], tuple[str, ...], dict[str, Any]]] = [
    (api.add_grant, ("run42", "z@example.org"), {"duration": "1d"}),
    (api.add_grant, ("run42", "group:g"), {"duration": "1d", "path": "/disthome/z/"}),
    (api.extend_grant, ("run42", "alice@uchicago.edu"), {"duration": "1d"}),
    (api.revoke_grant, ("run42", "alice@uchicago.edu"), {}),
    (api.add_membership, ("dot-omics", "z@example.org"), {"duration": "1d"}),
    (api.revoke_membership, ("dot-omics", "globus.demodoc@gmail.com"), {}),
    (api.tidy, (), {"older_than": "1m"}),
]


def run_all(specs: Path, now: datetime) -> None:
    for call, args, kwargs in OPERATIONS:
        before = snapshot(specs)
        try:
            result = call(specs, *args, now=now, **kwargs)
        except api.EditRefused:
            after = snapshot(specs)
            after.pop(".reconciler.lock", None)
            before.pop(".reconciler.lock", None)
            assert after == before
            continue
        if result.changed:
            assert load_spec_set([specs], now=now).ok


@pytest.mark.parametrize("case", sorted(p.name for p in CORPUS.iterdir()))
def test_the_bad_spec_corpus(tmp_path: Path, case: str) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(CORPUS / case, specs)
    run_all(specs, NOW)


FRAGMENTS = st.sampled_from(
    [
        "distributions:\n",
        "  - name: run42\n",
        "    collection: petrel\n",
        "    grants:\n",
        "      - identity: alice@uchicago.edu\n",
        "        expires: 2027-01-01\n",
        "    grants: []\n",
        "    grants: [{identity: alice@uchicago.edu, expires: 2027-01-01}]\n",
        "memberships:\n",
        "  - {group: dot-omics, identity: globus.demodoc@gmail.com, expires: 2027-01-01}\n",
        "- group: dot-omics\n",
        "  expires: *a\n",
        "  x: &a 1\n",
        "  <<: {expires: 2027-01-01}\n",
        "---\n",
        "# comment\n",
        "\n",
        "\t\n",
        "{",
        "]",
        ": ",
        "'",
        '"',
        "\r\n",
        "\ufeff",
        "\x85",
        "    path: /disthome/{identity_id}/\n",
        "groups: {dot-omics: {id: b4cada3a-af7c-11e3-8b90-1231391ccf32}}\n",
    ]
)
GOOD = (
    "collections:\n  petrel:\n    id: e56c36e4-1063-11e6-a747-22000bf2d559\n    root: /disthome/\n"
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(FRAGMENTS, max_size=14))
def test_arbitrary_spec_text(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    specs = tmp_path_factory.mktemp("specs")
    (specs / "c.yaml").write_text(GOOD)
    (specs / "x.yaml").write_bytes("".join(parts).encode("utf-8", errors="surrogatepass"))
    run_all(specs, NOW)
