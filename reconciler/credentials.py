"""Where the reconciler's Globus credentials come from, read once at start-up.

In order: a confidential client from ``GLOBUS_CLIENT_ID`` plus ``GLOBUS_CLIENT_SECRET``,
or plus a secret file (``--client-secret-file``, or ``client-secret`` in systemd's
``$CREDENTIALS_DIRECTORY``); else the tokens a Globus-enabled JupyterHub puts in
``GLOBUS_DATA`` (a base64-encoded pickle, decoded with an unpickler that admits only
plain containers and scalars, never a class). Secrets never reach ``repr`` or logs.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigurationError

SANDBOX_CLIENT_ID = "0b5e5a3c-5a4d-4b0f-9c3e-5a2d0b0c0de1"
SANDBOX_CLIENT_SECRET = "sandbox-secret"  # the sandbox accepts any secret
CREDENTIAL_NAME = "client-secret"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TokenCredentials:
    """Access tokens per resource server (``transfer.api.globus.org`` ...)."""

    tokens: Mapping[str, str] = field(repr=False)
    identity_id: str | None = None


Credentials = ClientCredentials | TokenCredentials


class _PlainUnpickler(pickle.Unpickler):
    """Refuses every global: only dicts, lists, tuples, sets, str, bytes, numbers,
    booleans and None can come out, so a crafted pickle cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"GLOBUS_DATA may not reference {module}.{name}")


def decode_globus_data(blob: str) -> dict[str, Any]:
    """Decode a JupyterHub ``GLOBUS_DATA`` value; raises ConfigurationError when bad."""
    try:
        raw = base64.b64decode(blob, validate=False)
        data = _PlainUnpickler(io.BytesIO(raw)).load()
    except (binascii.Error, pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ConfigurationError(f"GLOBUS_DATA is not a readable token bundle: {err}") from err
    if not isinstance(data, dict):
        raise ConfigurationError("GLOBUS_DATA must hold a dict of tokens")
    return data


def tokens_from_globus_data(data: Mapping[str, Any]) -> TokenCredentials:
    """Accepts ``{"tokens": {rs: {"access_token": ...}}}`` (JupyterHub) or a plain
    ``{rs: {"access_token": ...}}`` mapping."""
    by_server = data.get("tokens", data)
    if not isinstance(by_server, Mapping):
        raise ConfigurationError("GLOBUS_DATA has no 'tokens' mapping")
    tokens: dict[str, str] = {}
    for server, entry in by_server.items():
        if isinstance(entry, Mapping) and isinstance(entry.get("access_token"), str):
            tokens[str(server)] = entry["access_token"]
    if not tokens:
        raise ConfigurationError("GLOBUS_DATA holds no access tokens")
    identity = data.get("identity_id") if isinstance(data.get("identity_id"), str) else None
    return TokenCredentials(tokens=tokens, identity_id=identity)


def _read_secret(path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigurationError(
            f"cannot read the client secret file {path}: {err.strerror}"
        ) from err
    if not secret:
        raise ConfigurationError(f"the client secret file {path} is empty")
    return secret


def load_credentials(
    env: Mapping[str, str] | None = None, *, secret_file: Path | None = None
) -> Credentials:
    """Read credentials from the environment and files, or explain what is missing."""
    env = os.environ if env is None else env
    client_id = env.get("GLOBUS_CLIENT_ID", "").strip()
    if client_id:
        if secret_file is not None:
            return ClientCredentials(client_id, _read_secret(secret_file))
        if env.get("GLOBUS_CLIENT_SECRET"):
            return ClientCredentials(client_id, env["GLOBUS_CLIENT_SECRET"])
        directory = env.get("CREDENTIALS_DIRECTORY")
        if directory and (Path(directory) / CREDENTIAL_NAME).is_file():
            return ClientCredentials(client_id, _read_secret(Path(directory) / CREDENTIAL_NAME))
        raise ConfigurationError(
            "GLOBUS_CLIENT_ID is set but no secret was found: set GLOBUS_CLIENT_SECRET, "
            f"pass --client-secret-file, or provide the systemd credential {CREDENTIAL_NAME!r}"
        )
    if env.get("GLOBUS_DATA"):
        return tokens_from_globus_data(decode_globus_data(env["GLOBUS_DATA"]))
    raise ConfigurationError(
        "no Globus credentials: set GLOBUS_CLIENT_ID and GLOBUS_CLIENT_SECRET (a confidential "
        "client with the access manager role on each collection and admin on each group), "
        "or use --sandbox to try the specs against the built-in emulator"
    )


def sandbox_credentials() -> ClientCredentials:
    return ClientCredentials(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
