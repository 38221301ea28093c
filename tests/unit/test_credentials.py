"""Credentials from the environment, secret files and JupyterHub's GLOBUS_DATA."""

from __future__ import annotations

import base64
import os
import pickle
import random
import struct
import tracemalloc
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.credentials import (
    ClientCredentials,
    TokenCredentials,
    decode_globus_data,
    load_credentials,
)
from reconciler.errors import ConfigurationError

CLIENT = "11111111-2222-4333-8444-555555555555"


def encode(obj: object) -> str:
    return base64.b64encode(pickle.dumps(obj)).decode()


def test_client_id_and_secret_from_environment() -> None:
    creds = load_credentials({"GLOBUS_CLIENT_ID": CLIENT, "GLOBUS_CLIENT_SECRET": "s3cret"})
    assert creds == ClientCredentials(CLIENT, "s3cret")
    assert "s3cret" not in repr(creds)


def test_secret_file_and_systemd_credentials_directory(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    creds = load_credentials({"GLOBUS_CLIENT_ID": CLIENT}, secret_file=secret)
    assert isinstance(creds, ClientCredentials)
    assert creds.client_secret == "from-file"
    (tmp_path / "client-secret").write_text("from-systemd")
    creds = load_credentials({"GLOBUS_CLIENT_ID": CLIENT, "CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert isinstance(creds, ClientCredentials)
    assert creds.client_secret == "from-systemd"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no Globus credentials"),
        ({"GLOBUS_CLIENT_ID": CLIENT}, "no secret was found"),
        ({"GLOBUS_DATA": "!!!not base64 pickle!!!"}, "GLOBUS_DATA"),
        ({"GLOBUS_DATA": encode(["a", "list"])}, "must hold a dict"),
        ({"GLOBUS_DATA": encode({"tokens": {}})}, "no access tokens"),
    ],
)
def test_missing_or_bad_credentials_explain_themselves(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_credentials(env)


def test_unreadable_secret_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_credentials({"GLOBUS_CLIENT_ID": CLIENT}, secret_file=tmp_path / "absent")


def test_jupyterhub_globus_data_tokens() -> None:
    bundle = {
        "client_id": "hub",
        "tokens": {
            "transfer.api.globus.org": {"access_token": "T", "refresh_token": None},
            "groups.api.globus.org": {"access_token": "G"},
            "auth.globus.org": {"access_token": "A", "expires_at_seconds": 1},
        },
    }
    creds = load_credentials({"GLOBUS_DATA": encode(bundle)})
    assert isinstance(creds, TokenCredentials)
    assert dict(creds.tokens) == {
        "transfer.api.globus.org": "T",
        "groups.api.globus.org": "G",
        "auth.globus.org": "A",
    }
    assert "'T'" not in repr(creds)


class Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > /dev/null",))


def test_globus_data_cannot_run_code() -> None:
    with pytest.raises(ConfigurationError, match=r"may not reference (posix|os)\.system"):
        decode_globus_data(encode({"tokens": Exploit()}))


def test_globus_data_refuses_any_class_even_harmless_ones() -> None:
    with pytest.raises(ConfigurationError, match="datetime"):
        decode_globus_data(encode({"when": datetime(2026, 1, 1)}))


def test_globus_data_declaring_a_huge_string_allocates_nothing_for_it() -> None:
    """A few bytes declaring a 1 GiB byte string: the C unpickler allocated it before
    finding the data truncated (a crafted bundle could exhaust memory: the fuzz test
    below was killed by the kernel). The opcodes are checked first, lengths included."""
    crafted = b"\x80\x04\x8e" + struct.pack("<Q", 1 << 30) + b"abc."
    tracemalloc.start()
    try:
        with pytest.raises(ConfigurationError, match="not a readable token bundle"):
            decode_globus_data(base64.b64encode(crafted).decode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


def test_a_bundle_that_builds_objects_is_refused_before_unpickling() -> None:
    """Opcodes that call or build (REDUCE, BUILD, NEWOBJ, persistent ids) never run."""
    persistent = b"\x80\x02Pxyz\n."  # PERSID: the default unpickler refuses it, later
    with pytest.raises(ConfigurationError, match="opcode PERSID"):
        decode_globus_data(base64.b64encode(persistent).decode())
    with pytest.raises(ConfigurationError, match="more than the 1048576"):
        decode_globus_data(base64.b64encode(pickle.dumps("x" * (1 << 20))).decode())


def test_any_corrupted_bundle_is_a_configuration_error() -> None:
    """Mutated pickles of a real bundle: every failure is one ConfigurationError (an
    AttributeError, IndexError, OverflowError or MemoryError escaped before)."""
    bundle = {
        "tokens": {"transfer.api.globus.org": {"access_token": "x", "expires_at_seconds": 1}},
        "more": [1, 2.0, (3,), {4}, b"z", None, True, 10**30],
    }
    seeds = [pickle.dumps(bundle, protocol=p) for p in range(2, 6)]
    rng = random.Random(1)
    escaped: list[str] = []
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.5:
                data[at] = rng.randrange(256)
            elif choice < 0.75:
                del data[at]
            else:
                data.insert(at, rng.randrange(256))
        try:
            decode_globus_data(base64.b64encode(bytes(data)).decode())
        except ConfigurationError:
            pass
        except Exception as err:  # collected: the assertion names them
            escaped.append(f"{type(err).__name__}: {err}")
    assert escaped == []
