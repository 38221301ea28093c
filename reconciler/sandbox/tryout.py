"""Try the gateway notebook (docs/notebook.ipynb) without a Globus-enabled JupyterHub:
a copy of the example specs in a directory of its own, a made-up signed-in user, and
the built-in sandbox's files next to them.

``prepare_tryout`` returns the environment a hub would give the notebook:
``GLOBUS_DATA`` in the tutorial hub's shape (a base64 pickle of ``{"id_token": {decoded
claims}, "tokens": {resource server: {"access_token", ...}}}``, see docs/gateway.md;
the tokens are placeholders, since ``--sandbox`` commands use the sandbox's own
client), ``RECONCILER_SPECS``, and
``RECONCILER_SANDBOX_DB``/``RECONCILER_STATE_DIR`` so that ``--sandbox`` commands keep
their world and state in that directory. Nothing here talks to Globus.
"""

from __future__ import annotations

import base64
import pickle
import shutil
import uuid
from pathlib import Path
from typing import Any

TRYOUT_USERNAME = "dora@example.org"
_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL


def prepare_tryout(
    directory: Path, *, specs: Path, username: str = TRYOUT_USERNAME
) -> dict[str, str]:
    """Copy ``specs`` into ``directory/specs`` (replacing an earlier copy) and return
    the notebook's environment for ``username``."""
    copy = directory / "specs"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(specs, copy)
    return {
        "GLOBUS_DATA": compute_globus_data(username),
        "RECONCILER_SPECS": str(copy),
        "RECONCILER_SANDBOX_DB": str(directory / "sandbox.db"),
        "RECONCILER_STATE_DIR": str(directory / "state"),
    }


def compute_globus_data(username: str) -> str:
    """A hub's ``GLOBUS_DATA`` for ``username`` (a stable made-up identity UUID)."""
    sub = str(uuid.uuid5(_NAMESPACE, f"reconciler-tryout:{username}"))
    name = username.split("@", 1)[0].title()
    claims = {
        "sub": sub,
        "preferred_username": username,
        "name": name,
        "identity_set": [
            {
                "sub": sub,
                "username": username,
                "name": name,
                "identity_provider_display_name": "the reconciler sandbox",
            }
        ],
    }
    tokens = {
        server: {"access_token": "sandbox", "resource_server": server}
        for server in ("auth.globus.org", "transfer.api.globus.org", "groups.api.globus.org")
    }
    bundle: dict[str, Any] = {"id_token": claims, "tokens": tokens}
    return base64.b64encode(pickle.dumps(bundle)).decode("ascii")
