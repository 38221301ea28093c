"""The notebook helper: the signed-in user's primary identity from GLOBUS_DATA."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pytest

from reconciler.api import compute_id_token_claims, compute_primary_identity, load_hub_identity
from reconciler.editing.identity import HubIdentity
from reconciler.errors import ConfigurationError
from reconciler.hub import find_id_token

PRIMARY = "b0d5b1b6-91a4-11e5-bf8f-f3b0a5e5d1b6"
LINKED = "c1e6c2c7-91a4-11e5-bf8f-f3b0a5e5d1b7"


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS512', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


CLAIMS = {
    "sub": PRIMARY,
    "preferred_username": "alice@uchicago.edu",
    "name": "Alice",
    "identity_set": [
        {"sub": LINKED, "username": "alice@gmail.com", "name": "Alice G"},
        {
            "sub": PRIMARY,
            "username": "alice@uchicago.edu",
            "name": "Alice Liddell",
            "email": "alice@uchicago.edu",
            "identity_provider_display_name": "University of Chicago",
        },
    ],
}
ALICE = HubIdentity(
    id=PRIMARY,
    username="alice@uchicago.edu",
    name="Alice Liddell",
    email="alice@uchicago.edu",
    identity_provider="University of Chicago",
)


def globus_data(bundle: object) -> str:
    return base64.b64encode(pickle.dumps(bundle)).decode()


def test_the_primary_identity_comes_from_the_identity_set() -> None:
    assert compute_primary_identity(compute_id_token_claims(jwt(CLAIMS))) == ALICE


@pytest.mark.parametrize(
    "bundle",
    [
        {"tokens": {"auth.globus.org": {"access_token": "a", "id_token": jwt(CLAIMS)}}},
        {"client_id": "x", "id_token": jwt(CLAIMS), "tokens": {}},
        {"transfer.api.globus.org": {"access_token": "t", "id_token": jwt(CLAIMS)}},
    ],
)
def test_from_globus_data(bundle: dict[str, Any]) -> None:
    assert load_hub_identity({"GLOBUS_DATA": globus_data(bundle)}) == ALICE


def test_without_an_identity_set_sub_and_preferred_username_do() -> None:
    claims = {"sub": PRIMARY.upper(), "preferred_username": "bob@example.org"}
    assert compute_primary_identity(claims) == HubIdentity(id=PRIMARY, username="bob@example.org")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "GLOBUS_DATA is not set"),
        ({"GLOBUS_DATA": globus_data({"tokens": {}})}, "holds no id_token and no globus_user"),
        ({"GLOBUS_DATA": globus_data({"id_token": "not-a-jwt"})}, "not a JWT"),
        ({"GLOBUS_DATA": globus_data({"id_token": "a.!!!.c"})}, "cannot be decoded"),
        ({"GLOBUS_DATA": globus_data({"id_token": jwt({"sub": "nope"})})}, "no identity UUID"),
        ({"GLOBUS_DATA": globus_data({"id_token": jwt({"sub": PRIMARY})})}, "no username"),
    ],
)
def test_what_is_missing_is_explained(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_hub_identity(environ)


def test_a_pickle_that_names_a_class_is_refused() -> None:
    """The restricted unpickler of reconciler.credentials: no code runs."""

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (print, ("pwned",))

    with pytest.raises(ConfigurationError, match=r"may not reference builtins\.print"):
        load_hub_identity({"GLOBUS_DATA": globus_data({"id_token": Evil()})})


def test_find_id_token_prefers_auth() -> None:
    bundle = {"tokens": {"a.org": {"id_token": "first"}, "auth.globus.org": {"id_token": "auth"}}}
    assert find_id_token(bundle) == "auth"
