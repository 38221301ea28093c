"""The secret scan: no client secret and no access token in anything the reconciler
printed or logged.

A ``SecretScan`` collects output (CLI stdout and stderr, daemon log lines, SDK warnings)
as it is produced; ``check()`` reads the tokens the sandbox issued straight from its
SQLite world and looks for them, for every secret it was told about (the sandbox client
secret always), for the HTTP Basic header those secrets make, and for anything shaped
like a sandbox token. Secrets are named, never shown, in a failure.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.credentials import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

TOKEN_SHAPE = re.compile(r"sbx_[A-Za-z0-9_-]{16,}")
"""What a sandbox access token looks like (``"sbx_" + secrets.token_urlsafe(24)``)."""
BEARER = re.compile(r"(?i)\bbearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}")


def read_issued_tokens(db_path: Path) -> list[str]:
    """Every access token the sandbox world has issued (its ``tokens`` table)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as conn:
        return [str(row[0]) for row in conn.execute("SELECT token FROM tokens")]


def basic_header(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class SecretScan:
    db_path: Path
    outputs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(
        default_factory=lambda: {
            "the sandbox client secret": SANDBOX_CLIENT_SECRET,
            "the sandbox client's Basic header": basic_header(
                SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
            ),
        }
    )

    def add(self, name: str, text: str | bytes | None) -> None:
        """Remember ``text`` under ``name`` (appended when the name is used again)."""
        if text is None:
            return
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.outputs[name] = self.outputs.get(name, "") + text

    def add_client(self, client_id: str, secret: str) -> None:
        """A configured confidential client: its secret and its Basic header."""
        self.secrets[f"the secret of client {client_id}"] = secret
        self.secrets[f"the Basic header of client {client_id}"] = basic_header(client_id, secret)

    def findings(self) -> list[str]:
        tokens = read_issued_tokens(self.db_path) if self.db_path.exists() else []
        wanted = {**self.secrets, **{f"access token #{i}": t for i, t in enumerate(tokens)}}
        found: list[str] = []
        for name, text in self.outputs.items():
            for what, secret in wanted.items():
                if secret and secret in text:
                    found.append(f"{what} appears in {name}")
            if TOKEN_SHAPE.search(text):
                found.append(f"something shaped like a sandbox token appears in {name}")
            if BEARER.search(text):
                found.append(f"an unredacted Bearer credential appears in {name}")
        return found

    def check(self) -> int:
        """Assert the collected output is clean; returns the number of tokens checked."""
        found = self.findings()
        assert not found, "secrets leaked into output:\n" + "\n".join(found)
        return len(read_issued_tokens(self.db_path)) if self.db_path.exists() else 0
