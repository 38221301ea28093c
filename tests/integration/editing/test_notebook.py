"""docs/notebook.ipynb is a valid nbformat 4 notebook, and it runs in a Jupyter kernel
(nbclient), as a user's notebook would: in a hub (its GLOBUS_DATA, a 7-day grant in a
copy of the tutorial specs, the plan against the built-in sandbox), and anywhere else
as the documented sandbox try-out."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests import hub_shapes

ROOT = Path(__file__).parents[3]
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
USER = "b0d5b1b6-91a4-11e5-bf8f-f3b0a5e5d1b6"


def test_the_notebook_is_nbformat_4() -> None:
    notebook = json.loads(NOTEBOOK.read_text())
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
    ids = [cell["id"] for cell in notebook["cells"]]
    assert len(set(ids)) == len(ids)
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("markdown", "code")
        assert isinstance(cell["source"], list)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            assert cell["execution_count"] is None
            compile("".join(cell["source"]), "<cell>", "exec")


def run_notebook(cwd: Path) -> str:
    """Execute the notebook with nbclient in a fresh kernel, as Jupyter would (the
    working directory is ``cwd``); return everything its cells printed."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    with warnings.catch_warnings():
        # jupyter_client and zmq warn about their own deprecations; not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        client.execute()
    printed = []
    for cell in notebook.cells:
        for output in cell.get("outputs", ()):
            assert output["output_type"] != "error", "\n".join(output.get("traceback", ()))
            printed.append(output.get("text", ""))
    return "".join(printed)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel inherits this process's environment: only what a test sets."""
    for key in list(os.environ):
        if key.startswith(("GLOBUS_", "RECONCILER_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")


def expected_grant_year() -> str:
    return str((datetime.now(UTC) + timedelta(days=7)).year)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("shape", [hub_shapes.tutorial, hub_shapes.oauthenticator_16])
def test_the_notebook_runs_in_a_hub_against_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: Any
) -> None:
    """With the GLOBUS_DATA of the tutorial's hub (decoded claims at the top) and of
    JupyterHub's oauthenticator (defaults: no Auth token, token_response, globus_user)."""
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "tests" / "data" / "editing" / "tutorial", specs)
    claims = {
        "sub": USER,
        "preferred_username": "dora@example.org",
        "identity_set": [
            {
                "sub": USER,
                "username": "dora@example.org",
                "name": "Dora",
                "identity_provider_display_name": "Example IdP",
            },
        ],
    }
    bundle = shape({"transfer.api.globus.org": "t", "auth.globus.org": "a"}, claims=claims)
    monkeypatch.setenv("GLOBUS_DATA", hub_shapes.encode(bundle))
    monkeypatch.setenv("RECONCILER_SPECS", str(specs))
    out = run_notebook(tmp_path)
    assert "Dora: dora@example.org (b0d5b1b6-91a4-11e5-bf8f-f3b0a5e5d1b6), via Example IdP" in out
    assert "grant dora@example.org r on tutorial/per-user until " in out
    assert "+      - identity: dora@example.org\n" in out
    plan = [line for line in out.splitlines() if line.strip().startswith("+ create rule")]
    wanted = f"r for identity:dora@example.org until {expected_grant_year()}-"
    assert any(wanted in line for line in plan), out
    assert "identity: dora@example.org" in (specs / "tutorial.yaml").read_text()


@pytest.mark.usefixtures("clean_env")
def test_the_notebook_runs_anywhere_as_a_sandbox_tryout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No hub: the first cell copies the example specs into a temporary directory and
    signs in a made-up user; the repository's own specs are left as they were."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    before = {p.name: p.read_bytes() for p in (ROOT / "specs").iterdir()}
    out = run_notebook(ROOT / "docs")
    assert f"spec directory: {tmp_path}" in out
    assert "Dora: dora@example.org (" in out
    assert "via the reconciler sandbox" in out
    plan = [line for line in out.splitlines() if line.strip().startswith("+ create rule")]
    wanted = f"r for identity:dora@example.org until {expected_grant_year()}-"
    assert any(wanted in line for line in plan), out
    assert {p.name: p.read_bytes() for p in (ROOT / "specs").iterdir()} == before
    assert not (ROOT / "docs" / ".reconciler").exists()
    (copy,) = tmp_path.glob("reconciler-*/specs")
    assert "identity: dora@example.org" in (copy / "tutorial.yaml").read_text()
