"""Views of the sandbox's world as ``SandboxControl.dump()`` returns it, shared by the
integration tests that look at Globus from outside (engine, daemon, editing, shared).
Plain functions of one dump: a caller that needs two views takes one dump for both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def find_collection(world: Mapping[str, Any], collection_id: str) -> dict[str, Any]:
    """The collection ``collection_id`` in ``world``; with no rules and an empty tree when
    the sandbox does not hold it (never seeded)."""
    found: dict[str, Any] = next(
        (c for c in world["collections"] if c["id"] == collection_id),
        {"rules": [], "tree": []},
    )
    return found


def rule_usernames(world: Mapping[str, Any], collection_id: str) -> dict[str, str]:
    """The collection's rules as ``{path: username}`` (the principal id where the sandbox
    knows no username for it)."""
    names = {i["id"]: i["username"] for i in world["identities"]}
    rules = find_collection(world, collection_id)["rules"]
    return {r["path"]: names.get(r["principal"], r["principal"]) for r in rules}
