"""The on-disk token cache (``tokens.json`` in the state directory), safe for threads and
for crashes.

The SDK's ``JSONTokenStorage`` reads, modifies and rewrites its file in place with no
lock. The reconciler's first reads run in parallel (Transfer, Groups and Auth at once),
and each client stores its new token: concurrent rewrites interleave, a read sees a
half-written file (``JSONDecodeError`` out of ``plan``), and the file can be left
corrupt, failing every later run. A crash in the middle of a rewrite truncates it too.

Here every read and write holds one lock, the file is replaced atomically (a temporary
file, mode 0600 from the start, renamed over it), and an unreadable file counts as
empty: it is only a cache, and the tokens are fetched again. The file format is the
SDK's, so an existing cache keeps working.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import globus_sdk
from globus_sdk.token_storage import JSONTokenStorage, TokenStorageData


class CachingTokenStorage(JSONTokenStorage):
    def __init__(self, filepath: Path, *, namespace: str = "DEFAULT") -> None:
        super().__init__(filepath, namespace=namespace)
        self._lock = threading.Lock()

    def store_token_data_by_resource_server(
        self, token_data_by_resource_server: Mapping[str, TokenStorageData]
    ) -> None:
        with self._lock:
            document = self._read_document()
            mine = document["data"].setdefault(self.namespace, {})
            for resource_server, token_data in token_data_by_resource_server.items():
                mine[resource_server] = token_data.to_dict()
            self._write_document(document)

    def get_token_data_by_resource_server(self) -> dict[str, TokenStorageData]:
        with self._lock:
            mine = self._read_document()["data"].get(self.namespace, {})
        return {rs: TokenStorageData.from_dict(data) for rs, data in mine.items()}

    def remove_token_data(self, resource_server: str) -> bool:
        with self._lock:
            document = self._read_document()
            popped = document["data"].get(self.namespace, {}).pop(resource_server, None)
            self._write_document(document)
        return popped is not None

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
