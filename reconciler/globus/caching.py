"""The token cache (``tokens.json`` in the state directory): keyed by who asked and
for what, safe for threads and for crashes, readable by its owner only.

**Keyed by client and secret.** Each confidential client has its own namespace,
``<client id>/<fingerprint>``, where the fingerprint is an HMAC of the client id keyed
by the secret (16 hex digits; the secret itself is never written). A different client,
or the same client with another secret (rotated, or mistyped), finds no tokens and asks
Globus Auth at once, which refuses a wrong secret there and then instead of 48 hours
later. Storing tokens under a new secret drops the client's namespaces for older
secrets (and the unkeyed ``DEFAULT`` namespace of older versions), so a rotated-away
secret's tokens do not linger on disk.

**Keyed by scopes.** ``ScopeKeyedTokenStorage`` keeps each token with the scopes that
were required of its resource server when it was stored, and gives it back only while
the app requires exactly those scopes. When staging adds a collection's ``data_access``
scope as a dependency of the Transfer scope, the old Transfer token (which Globus
issued without that consent, and whose ``scope`` string does not show dependencies) is
not reused: a new one is requested. Scope requirements change only between calls
(``reconciler.globus.sources``), never while a token request is in flight.

**Safe.** The SDK's ``JSONTokenStorage`` reads, modifies and rewrites its file in
place with no lock; the reconciler's first reads run in parallel (Transfer, Groups and
Auth at once) and each stores its new token, so rewrites interleave, a read sees a
half-written file and the file can be left corrupt; two processes sharing the file (CI
beside the daemon) lose each other's tokens. Here every read-modify-write holds an
``flock`` on a lock file beside the cache (which serializes threads and processes
alike), the file is replaced atomically (a temporary file, mode 0600 from the start,
renamed over it), an existing file is tightened to 0600 when opened, and an unreadable
file counts as empty: it is only a cache. The file format is the SDK's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import globus_sdk
from globus_sdk.scopes import Scope, ScopeParser
from globus_sdk.token_storage import (
    JSONTokenStorage,
    MemoryTokenStorage,
    TokenStorage,
    TokenStorageData,
)

from reconciler.private import tighten_private_files

LEGACY_NAMESPACE = "DEFAULT"
SCOPES_KEY = "reconciler_scopes"
"""Where each stored token keeps the scopes it was requested for (an SDK ``extra``)."""


def compute_cache_namespace(client_id: str, secret: str) -> str:
    """``<client id>/<fingerprint of the secret>``: see the module docstring."""
    mac = hmac.new(secret.encode(), f"reconciler token cache\0{client_id}".encode(), "sha256")
    return f"{client_id}/{mac.hexdigest()[:16]}"


def compute_scope_key(scopes: Sequence[Scope]) -> str:
    """One canonical string for a resource server's scope requirements, dependencies
    included (``transfer:all`` and ``transfer:all[*x]`` merge into the latter)."""
    merged = ScopeParser.merge_scopes(list(scopes), [])
    return " ".join(sorted(str(scope) for scope in merged))


class CachingTokenStorage(JSONTokenStorage):
    def __init__(self, filepath: Path, *, namespace: str = LEGACY_NAMESPACE) -> None:
        super().__init__(filepath, namespace=namespace)
        self._lock = threading.Lock()
        path = Path(filepath)
        self._lock_path = path.with_name(f".{path.name}.lock")
        tighten_private_files([path])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """This process's threads, then every holder of the lock file (other storages,
        other processes), one at a time."""
        with self._lock:
            handle = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield
            finally:
                os.close(handle)  # releases the flock

    def store_token_data_by_resource_server(
        self, token_data_by_resource_server: Mapping[str, TokenStorageData]
    ) -> None:
        with self._locked():
            document = self._read_document()
            data = document["data"]
            for stale in [name for name in data if self._superseded(name)]:
                del data[stale]
            mine = data.setdefault(self.namespace, {})
            for resource_server, token_data in token_data_by_resource_server.items():
                mine[resource_server] = token_data.to_dict(include_extra=True)
            self._write_document(document)

    def get_token_data_by_resource_server(self) -> dict[str, TokenStorageData]:
        with self._locked():
            mine = self._read_document()["data"].get(self.namespace, {})
        return {rs: TokenStorageData.from_dict(data) for rs, data in mine.items()}

    def remove_token_data(self, resource_server: str) -> bool:
        with self._locked():
            document = self._read_document()
            popped = document["data"].get(self.namespace, {}).pop(resource_server, None)
            self._write_document(document)
        return popped is not None

    def _superseded(self, name: str) -> bool:
        """Namespaces this one replaces: the same client's under another secret, and the
        unkeyed one of older versions (whose client nobody can tell any more)."""
        if self.namespace in (name, LEGACY_NAMESPACE):
            return False
        client = self.namespace.split("/", 1)[0]
        return name == LEGACY_NAMESPACE or name.split("/", 1)[0] == client

    def _read_document(self) -> dict[str, Any]:
        """The whole file; a missing, unreadable or malformed one holds no tokens."""
        empty: dict[str, Any] = {"data": {}, "format_version": self.format_version}
        try:
            with open(self.filepath, encoding="utf-8") as file:
                document = json.load(file)
        except (OSError, ValueError):  # JSONDecodeError is a ValueError
            return empty
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
            return empty
        data = document["data"]
        if not all(isinstance(v, dict) for v in data.values()) or not all(
            isinstance(t, dict) for v in data.values() for t in v.values()
        ):
            return empty
        return document

    def _write_document(self, document: dict[str, Any]) -> None:
        document["format_version"] = self.format_version
        document["globus-sdk.version"] = globus_sdk.__version__
        directory = os.path.dirname(os.path.abspath(self.filepath))
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tokens-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.filepath)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise


ScopeRequirements = Callable[[], Mapping[str, Sequence[Scope]]]


class ExtrasMemoryTokenStorage(MemoryTokenStorage):
    """The SDK's in-memory storage, keeping each token's extra fields (the SDK's drops
    them, and with them the scopes ``ScopeKeyedTokenStorage`` tags a token with: no
    stored token would ever be given back, and every new authorizer asked Globus Auth
    for its own)."""

    def store_token_data_by_resource_server(
        self, token_data_by_resource_server: Mapping[str, TokenStorageData]
    ) -> None:
        mine = self._tokens.setdefault(self.namespace, {})
        for resource_server, token_data in token_data_by_resource_server.items():
            mine[resource_server] = token_data.to_dict(include_extra=True)


class ScopeKeyedTokenStorage(TokenStorage):
    """Wraps a storage so that a token is given back only for the scopes it was
    requested for (see the module docstring). ``bind`` it to the app's requirements."""

    def __init__(self, inner: TokenStorage) -> None:
        super().__init__(namespace=inner.namespace)
        self.inner = inner
        self._requirements: ScopeRequirements = dict

    def bind(self, requirements: ScopeRequirements) -> None:
        self._requirements = requirements

    def _key(self, resource_server: str) -> str:
        return compute_scope_key(self._requirements().get(resource_server, ()))

    def store_token_data_by_resource_server(
        self, token_data_by_resource_server: Mapping[str, TokenStorageData]
    ) -> None:
        tagged = {}
        for server, token in token_data_by_resource_server.items():
            fields = token.to_dict(include_extra=True)
            fields[SCOPES_KEY] = self._key(server)
            tagged[server] = TokenStorageData.from_dict(fields)
        self.inner.store_token_data_by_resource_server(tagged)

    def get_token_data_by_resource_server(self) -> dict[str, TokenStorageData]:
        return {
            server: token
            for server, token in self.inner.get_token_data_by_resource_server().items()
            if token.extra.get(SCOPES_KEY) == self._key(server)
        }

    def remove_token_data(self, resource_server: str) -> bool:
        return self.inner.remove_token_data(resource_server)

    def close(self) -> None:
        self.inner.close()
