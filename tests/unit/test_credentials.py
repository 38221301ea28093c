"""Credentials from the environment, secret files and JupyterHub's GLOBUS_DATA."""

from __future__ import annotations

import base64
import os
import pickle
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
