"""Where the reconciler's Globus credentials come from, read once at start-up.

In order: a confidential client from ``GLOBUS_CLIENT_ID`` plus ``GLOBUS_CLIENT_SECRET``,
or plus a secret file (``--client-secret-file``, or ``client-secret`` in systemd's
``$CREDENTIALS_DIRECTORY``); else the tokens a Globus-enabled JupyterHub puts in
``GLOBUS_DATA`` (a base64-encoded pickle; its shapes are ``reconciler.hub``'s). The
pickle is read as plain data only: at most ``MAX_GLOBUS_DATA`` bytes, every opcode
checked first (``pickletools``, which also checks each declared length against the data
actually there: a few bytes declaring a gigabyte string would otherwise make the C
unpickler allocate it), only the opcodes of plain containers and scalars admitted, then
an unpickler that refuses every global; any failure is a ``ConfigurationError``.
Secrets never reach ``repr`` or logs.

Hub tokens are a user's access tokens: they expire (about 48 hours) and only the hub
can renew them, so they serve ``plan``, ``apply`` and edits from a notebook, but not
the daemon (``require_renewable``).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import pickle
import pickletools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigurationError
from reconciler.hub import HubToken, compute_hub_claims, compute_hub_tokens

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
    expires_at: Mapping[str, int] = field(default_factory=dict)
    """Epoch seconds per resource server, where the hub recorded them."""


Credentials = ClientCredentials | TokenCredentials


MAX_GLOBUS_DATA = 1 << 20
"""Bytes of decoded ``GLOBUS_DATA`` read at most (a hub's bundle is a few kilobytes)."""

PLAIN_OPCODES = frozenset(
    {
        *("PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP"),
        *("NONE", "NEWTRUE", "NEWFALSE", "INT", "BININT", "BININT1", "BININT2"),
        *("LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT"),
        *("STRING", "BINSTRING", "SHORT_BINSTRING"),
        *("UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"),
        *("SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8"),
        *("EMPTY_LIST", "APPEND", "APPENDS", "LIST"),
        *("EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"),
        *("EMPTY_DICT", "DICT", "SETITEM", "SETITEMS", "EMPTY_SET", "ADDITEMS", "FROZENSET"),
        *("GET", "BINGET", "LONG_BINGET", "PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"),
    }
)
"""The pickle opcodes of plain containers and scalars: nothing that names, calls or
builds an object, reads a persistent id or an out-of-band buffer."""


class _PlainUnpickler(pickle.Unpickler):
    """Refuses every global: only dicts, lists, tuples, sets, str, bytes, numbers,
    booleans and None can come out, so a crafted pickle cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"GLOBUS_DATA may not reference {module}.{name}")


def require_plain_pickle(raw: bytes) -> None:
    """Refuse ``raw`` unless it is a well-formed pickle of plain data only, without
    unpickling it (``pickletools`` reads the opcodes and checks every length)."""
    if len(raw) > MAX_GLOBUS_DATA:
        raise ConfigurationError(
            f"GLOBUS_DATA is {len(raw)} bytes decoded, more than the {MAX_GLOBUS_DATA} a "
            "token bundle can need"
        )
    strings: list[str] = []
    try:
        for opcode, arg, _ in pickletools.genops(raw):
            if opcode.name == "FRAME" and isinstance(arg, int) and arg > len(raw):
                raise ValueError(f"a frame of {arg} bytes in {len(raw)} bytes of data")
            if opcode.name in PLAIN_OPCODES:
                if isinstance(arg, str):
                    strings = [*strings[-1:], arg]
                continue
            raise ConfigurationError(
                "GLOBUS_DATA may hold plain data only (dicts, lists, strings, numbers); it "
                + _describe_refused(opcode.name, arg, strings)
            )
    except ValueError as err:  # a malformed opcode or argument, or a length beyond the end
        raise ConfigurationError(f"GLOBUS_DATA is not a readable token bundle: {err}") from err


def _describe_refused(opcode: str, arg: object, strings: list[str]) -> str:
    if opcode in ("GLOBAL", "INST") and isinstance(arg, str):
        return "may not reference " + arg.replace(" ", ".")
    if opcode == "STACK_GLOBAL" and len(strings) == 2:
        return f"may not reference {strings[0]}.{strings[1]}"
    return f"uses the pickle opcode {opcode}, which builds an object"


def decode_globus_data(blob: str) -> dict[str, Any]:
    """Decode a JupyterHub ``GLOBUS_DATA`` value; raises ConfigurationError when bad."""
    try:
        raw = base64.b64decode(blob, validate=False)
    except (binascii.Error, ValueError) as err:
        raise ConfigurationError(f"GLOBUS_DATA is not base64: {err}") from err
    require_plain_pickle(raw)
    try:
        data = _PlainUnpickler(io.BytesIO(raw)).load()
    except Exception as err:  # checked plain data that still fails to load is bad data
        raise ConfigurationError(
            f"GLOBUS_DATA is not a readable token bundle: {type(err).__name__}: {err}"
        ) from err
    if not isinstance(data, dict):
        raise ConfigurationError("GLOBUS_DATA must hold a dict of tokens")
    return data


def tokens_from_globus_data(data: Mapping[str, Any]) -> TokenCredentials:
    """The access tokens of either hub shape (``reconciler.hub``), or of a plain
    ``{rs: {"access_token": ...}}`` mapping, and the signed-in identity when known."""
    found: dict[str, HubToken] = compute_hub_tokens(data)
    if not found:
        raise ConfigurationError("GLOBUS_DATA holds no access tokens")
    identity = data.get("identity_id") if isinstance(data.get("identity_id"), str) else None
    if identity is None:
        try:
            sub = compute_hub_claims(data).get("sub")
        except ConfigurationError:
            sub = None  # who signed in only matters to the notebook helper
        identity = sub if isinstance(sub, str) else None
    return TokenCredentials(
        tokens={server: token.access_token for server, token in found.items()},
        identity_id=identity,
        expires_at={s: t.expires_at for s, t in found.items() if t.expires_at is not None},
    )


def require_renewable(credentials: Credentials, *, command: str) -> ClientCredentials:
    """Refuse hub tokens where they would run out: a long-running ``command`` needs a
    confidential client, whose tokens the reconciler can fetch again itself."""
    if isinstance(credentials, ClientCredentials):
        return credentials
    raise ConfigurationError(
        f"`reconciler {command}` cannot run on the tokens in GLOBUS_DATA: a hub's access "
        "tokens expire after about 48 hours and only the hub (with its client secret) can "
        "renew them, so the daemon would stop working; give it a confidential client "
        "instead (GLOBUS_CLIENT_ID and GLOBUS_CLIENT_SECRET, --client-secret-file or the "
        "systemd credential 'client-secret'). plan, apply and the editing commands do work "
        "with GLOBUS_DATA"
    )


def load_secret_file(path: Path, *, what: str) -> str:
    """The secret in ``path``, surrounding whitespace ignored. A file that cannot be read
    or holds nothing is a ``ConfigurationError`` naming the file and ``what`` it should
    hold (e.g. ``"client secret"``), never the secret."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigurationError(f"{path}: cannot read the {what}: {err.strerror or err}") from err
    if not secret:
        raise ConfigurationError(f"{path}: the {what} file is empty")
    return secret


def load_credentials(
    env: Mapping[str, str] | None = None, *, secret_file: Path | None = None
) -> Credentials:
    """Read credentials from the environment and files, or explain what is missing."""
    env = os.environ if env is None else env
    client_id = env.get("GLOBUS_CLIENT_ID", "").strip()
    if client_id:
        if secret_file is not None:
            return ClientCredentials(client_id, load_secret_file(secret_file, what="client secret"))
        if env.get("GLOBUS_CLIENT_SECRET"):
            return ClientCredentials(client_id, env["GLOBUS_CLIENT_SECRET"])
        directory = env.get("CREDENTIALS_DIRECTORY")
        if directory and (Path(directory) / CREDENTIAL_NAME).is_file():
            secret = load_secret_file(Path(directory) / CREDENTIAL_NAME, what="client secret")
            return ClientCredentials(client_id, secret)
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
