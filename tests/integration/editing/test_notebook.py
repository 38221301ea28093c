"""docs/notebook.ipynb is a valid nbformat 4 notebook, and its code cells run, in order,
as a user's notebook would: a hub's GLOBUS_DATA, a 7-day grant in a copy of the
tutorial specs, and the plan against the built-in sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


@pytest.mark.parametrize("shape", [hub_shapes.tutorial, hub_shapes.oauthenticator_16])
def test_the_notebook_runs_against_the_sandbox(tmp_path: Path, shape: Any) -> None:
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
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GLOBUS_", "RECONCILER_"))
    }
    env |= {
        "GLOBUS_DATA": hub_shapes.encode(bundle),
        "RECONCILER_SPECS": str(specs),
    }
    cells = [
        "".join(cell["source"])
        for cell in json.loads(NOTEBOOK.read_text())["cells"]
        if cell["cell_type"] == "code"
    ]
    done = subprocess.run(
        [sys.executable, "-c", "\n\n".join(cells)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Dora: dora@example.org (b0d5b1b6-91a4-11e5-bf8f-f3b0a5e5d1b6), via Example IdP" in out
    assert "grant dora@example.org r on tutorial/per-user until " in out
    assert "+      - identity: dora@example.org\n" in out
    plan = [line for line in out.splitlines() if line.strip().startswith("+ create rule")]
    assert any("r for identity:dora@example.org until 2026-" in line for line in plan), out
    assert "identity: dora@example.org" in (specs / "tutorial.yaml").read_text()
