"""A small client for the sandbox control plane (``/_sandbox/``), using urllib only.

``SandboxControl(url)`` is what tests, benchmarks and ``reconciler sandbox`` commands use
to seed and steer a running sandbox. ``ControlPlane`` is the part of its interface that
``LocalControl`` (direct database access, no server) also offers, so seeding and the CLI
work with either. Errors raise ``SandboxControlError`` with the server's code and message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol


class SandboxControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ControlPlane(Protocol):
    """World operations offered both over HTTP and directly on a database file."""

    def seed(self, doc: Mapping[str, Any] | None = None, /, **sections: Any) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def dump(self) -> dict[str, Any]: ...

    def simulate_download(
        self,
        identity: str,
        collection_id: str,
        path: str,
        *,
        files: Iterable[str] | None = None,
        count: int | None = None,
    ) -> dict[str, Any]: ...

    def advance_clock(self, seconds: float) -> dict[str, Any]: ...

    def set_clock(self, when: datetime | str) -> dict[str, Any]: ...

    def update_settings(self, **changes: Any) -> dict[str, Any]: ...


def file_specs(
    collection_id: str, files: Iterable[str | Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Normalise ``"path"`` or ``{"path", "size", "checksum"}`` items into seed entries."""
    specs: list[dict[str, Any]] = []
    for item in files:
        spec = {"path": item} if isinstance(item, str) else dict(item)
        specs.append({"collection_id": collection_id, **spec})
    return specs


def role_spec(
    role: str,
    principal: str,
    *,
    collection_id: str | None,
    group_id: str | None,
    principal_type: str,
) -> dict[str, Any]:
    if (collection_id is None) == (group_id is None):
        raise ValueError("give exactly one of collection_id or group_id")
    spec: dict[str, Any] = {"role": role, "principal": principal}
    if collection_id is not None:
        spec.update(collection_id=collection_id, principal_type=principal_type)
    else:
        spec["group_id"] = group_id
    return spec


def merge_seed(doc: Mapping[str, Any] | None, sections: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(doc or {})
    merged.update(sections)
    return merged


class SandboxControl:
    """HTTP client for one running sandbox, e.g. ``SandboxControl("http://127.0.0.1:8765")``."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        target = f"{self.url}/_sandbox/{path}"
        if query:
            target += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(target, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as err:
            raw = err.read().decode("utf-8", "replace")
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {}
            raise SandboxControlError(
                err.code, str(parsed.get("code", "HTTPError")), str(parsed.get("message", raw))
            ) from err

    # world
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "health")
        return result

    def seed(self, doc: Mapping[str, Any] | None = None, /, **sections: Any) -> dict[str, Any]:
        """Upsert a seed document (see docs/sandbox.md); keyword sections merge into it."""
        result: dict[str, Any] = self._call("POST", "seed", merge_seed(doc, sections))
        return result

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def dump(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "dump")
        return result

    def add_identity(
        self,
        username: str,
        *,
        identity_id: str | None = None,
        name: str | None = None,
        email: str | None = None,
        status: str | None = None,
        linked_to: str | None = None,
        groups_opt_out: bool | None = None,
    ) -> dict[str, Any]:
        """``linked_to`` (a username or UUID) puts the identity in that one's identity set;
        ``groups_opt_out`` says whether its settings refuse being added to groups."""
        spec = {
            "username": username, "id": identity_id, "name": name, "email": email,
            "status": status, "linked_to": linked_to, "groups_opt_out": groups_opt_out,
        }  # fmt: skip
        result: dict[str, Any] = self._call(
            "POST", "identities", {k: v for k, v in spec.items() if v is not None}
        )
        return result

    def add_client(self, client_id: str, *, secret: str | None = None) -> dict[str, Any]:
        """Create the client's identity; with a secret, later token requests must match it."""
        spec: dict[str, Any] = {"client_id": client_id}
        if secret is not None:
            spec["secret"] = secret
        result: dict[str, Any] = self._call("POST", "clients", spec)
        return result

    def add_collection(
        self,
        collection_id: str,
        *,
        display_name: str | None = None,
        roots: Iterable[str] = (),
        subscribed: bool = True,
        owner: str | None = None,
        entity_type: str | None = None,
        high_assurance: bool | None = None,
        unmapped: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A guest collection, or with ``entity_type="GCSv5_mapped_collection"`` a mapped
        one (``high_assurance``; ``unmapped``: people with no local account there)."""
        spec: dict[str, Any] = {"id": collection_id, "roots": list(roots), "subscribed": subscribed}
        if display_name is not None:
            spec["display_name"] = display_name
        if owner is not None:
            spec["owner"] = owner
        if entity_type is not None:
            spec["entity_type"] = entity_type
        if high_assurance is not None:
            spec["high_assurance"] = high_assurance
        if unmapped is not None:
            spec["unmapped"] = list(unmapped)
        result: dict[str, Any] = self._call("POST", "collections", spec)
        return result

    def add_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        admins: Iterable[str] = (),
        managers: Iterable[str] = (),
        members: Iterable[str] = (),
        memberships: Iterable[Mapping[str, Any]] = (),
        parent: str | None = None,
    ) -> dict[str, Any]:
        """``members`` are active; ``memberships`` may be in any state
        (``{"identity", "role"?, "status"?}``, e.g. ``left`` or ``pending``); ``parent``
        makes this group a subgroup whose members are implied members of the parent."""
        spec: dict[str, Any] = {
            "id": group_id,
            "admins": list(admins),
            "managers": list(managers),
            "members": list(members),
            "memberships": [dict(m) for m in memberships],
        }
        if parent is not None:
            spec["parent"] = parent
        if name is not None:
            spec["name"] = name
        if description is not None:
            spec["description"] = description
        result: dict[str, Any] = self._call("POST", "groups", spec)
        return result

    def add_files(
        self, collection_id: str, files: Iterable[str | Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Add files (``"path"`` or ``{"path", "size", "checksum"}``); parents are created."""
        return self.seed(files=file_specs(collection_id, files))

    def add_directories(self, collection_id: str, paths: Iterable[str]) -> dict[str, Any]:
        return self.seed(
            files=[{"collection_id": collection_id, "path": p, "type": "dir"} for p in paths]
        )

    def grant_role(
        self,
        role: str,
        principal: str,
        *,
        collection_id: str | None = None,
        group_id: str | None = None,
        principal_type: str = "identity",
    ) -> dict[str, Any]:
        """Collection roles: administrator, access_manager, activity_monitor, ...;
        group roles: admin, manager, member. ``principal`` is a username or UUID."""
        spec = role_spec(
            role, principal, collection_id=collection_id, group_id=group_id,
            principal_type=principal_type,
        )  # fmt: skip
        result: dict[str, Any] = self._call("POST", "roles", spec)
        return result

    def revoke_role(
        self, role: str, principal: str, *, collection_id: str, principal_type: str = "identity"
    ) -> dict[str, Any]:
        spec = role_spec(
            role, principal, collection_id=collection_id, group_id=None,
            principal_type=principal_type,
        )  # fmt: skip
        result: dict[str, Any] = self._call("DELETE", "roles", spec)
        return result

    def simulate_download(
        self,
        identity: str,
        collection_id: str,
        path: str,
        *,
        files: Iterable[str] | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """Record a SUCCEEDED transfer of every file under ``path`` (or of ``files``, or
        of the first ``count`` files) by ``identity``; returns the task document."""
        spec: dict[str, Any] = {"identity": identity, "collection_id": collection_id, "path": path}
        if files is not None:
            spec["files"] = list(files)
        if count is not None:
            spec["count"] = count
        result: dict[str, Any] = self._call("POST", "downloads", spec)
        return result

    # time and behaviour
    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "clock")
        return result

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "clock", {"advance": seconds})
        return result

    def set_clock(self, when: datetime | str) -> dict[str, Any]:
        value = when.isoformat() if isinstance(when, datetime) else when
        result: dict[str, Any] = self._call("POST", "clock", {"set": value})
        return result

    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "settings")
        return result

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """e.g. ``expiry_mode="delete"``, ``task_seconds=0``, ``open_roles=True``."""
        result: dict[str, Any] = self._call("POST", "settings", changes)
        return result

    def notifications(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "notifications")["notifications"]
        return result

    # faults and the request log (server memory)
    def inject_fault(
        self,
        *,
        path: str = ".*",
        method: str = "*",
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        latency_ms: int = 0,
        drop: bool = False,
        times: int | None = None,
        probability: float | None = None,
        retry_after: int | None = None,
    ) -> dict[str, Any]:
        """Fault the next ``times`` API requests whose path matches the regex ``path``
        (or each with ``probability``, or all); returns the fault with its ``id``."""
        spec: dict[str, Any] = {
            "path": path,
            "method": method,
            "latency_ms": latency_ms,
            "drop": drop,
        }
        optional = {
            "status": status, "code": code, "message": message, "times": times,
            "probability": probability, "retry_after": retry_after,
        }  # fmt: skip
        spec.update({k: v for k, v in optional.items() if v is not None})
        result: dict[str, Any] = self._call("POST", "faults", spec)
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return result

    def clear_faults(self, fault_id: int | None = None) -> int:
        path = "faults" if fault_id is None else f"faults/{fault_id}"
        return int(self._call("DELETE", path)["cleared"])

    def request_log(self, since: int = 0) -> dict[str, Any]:
        """``{"entries": [...], "next": n}``: API calls with index >= ``since``; pass
        ``next`` back later to read only what came after."""
        result: dict[str, Any] = self._call("GET", "requests", query={"since": since})
        return result

    def clear_request_log(self) -> int:
        """Forget logged calls; returns the index the next call will get."""
        return int(self._call("DELETE", "requests")["next"])
