"""Where the state store is: ``--state-db`` / ``$RECONCILER_STATE_DB`` is a file path
(SQLite) or a PostgreSQL connection string, as a URL (``postgresql://``,
``postgres://``) or in libpq's ``key=value`` form. Any other ``scheme://`` is an error,
so a URL is never taken for a file name.

Passwords come from the connection string, ``PGPASSWORD``, ``~/.pgpass`` (libpq reads
both), or systemd's ``LoadCredential=state-db-password:...``. They are never shown:
messages use ``display``, the URL rebuilt without its password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import ConfigurationError

STATE_DB_ENV = "RECONCILER_STATE_DB"
PASSWORD_CREDENTIAL = "state-db-password"
"""systemd credential (``LoadCredential=state-db-password:/etc/reconciler/...``)."""

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")
_KEYWORD = re.compile(r"^\s*[A-Za-z_]+\s*=")
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_MISTYPED_URL = re.compile(r"(?i)^\s*postgres(?:ql)?\s*[:/]")
"""``postgresql//host/db``, ``postgres:/host``: a URL with a typo, never a file."""
_URL_PASSWORD = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*:?/*[^:/@\s]*:([^@\s]+)@")
_KEYWORD_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


@dataclass(frozen=True, slots=True)
class SqliteLocation:
    path: Path

    @property
    def display(self) -> str:
        return str(self.path)


@dataclass(frozen=True, slots=True)
class PostgresLocation:
    conninfo: str = field(repr=False)
    """As given: may carry a password, so never shown."""
    display: str


StoreLocation = SqliteLocation | PostgresLocation


def parse_location(text: str) -> StoreLocation:
    """Classify ``text`` (see the module docstring); ConfigurationError when it looks
    like a URL or a connection string but is not a usable one."""
    scheme = _SCHEME.match(text)
    looks_like_url = scheme is not None and (
        "://" in text or scheme.group(1).lower() in _POSTGRES_SCHEMES
    )
    if looks_like_url and scheme is not None and len(scheme.group(1)) > 1:
        name = scheme.group(1).lower()
        if name not in _POSTGRES_SCHEMES:
            raise ConfigurationError(
                f"--state-db: {name}:// is not a supported store; give a file path (SQLite) "
                "or a postgresql:// URL"
            )
        # libpq knows the scheme in lower case only.
        return _postgres(name + text.strip()[len(name) :])
    if _KEYWORD.match(text):
        return _postgres(text)
    if not text.strip():
        raise ConfigurationError("--state-db is empty: give a file path or a postgresql:// URL")
    if "://" in text or _MISTYPED_URL.match(text):
        # A URL with a typo must not become a directory tree (with the password in it).
        raise ConfigurationError(
            f"--state-db: {compute_scrubbed(text.strip(), text)!r} looks like a mistyped "
            "URL, not a file: write postgresql://user@host:5432/dbname, or a path "
            "such as /var/lib/reconciler/state.db"
        )
    return SqliteLocation(Path(text))


def _conninfo_to_dict(text: str) -> dict[str, object]:
    # psycopg takes 0.14 s to import: only for a PostgreSQL store.
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 -- see above

    return dict(conninfo_to_dict(text))


def _postgres(text: str) -> PostgresLocation:
    try:
        params = _conninfo_to_dict(text)
    except Exception as err:  # psycopg.ProgrammingError; its text may quote the input
        raise ConfigurationError(
            "--state-db: not a valid PostgreSQL connection string "
            f"({compute_scrubbed(' '.join(str(err).split()), text)}); e.g. postgresql://user@host:5432/dbname"
        ) from err
    return PostgresLocation(text, compute_display(params))


def compute_display(params: Mapping[str, object]) -> str:
    """``postgresql://user@host:port/dbname`` (with what is given), never the password."""
    user = params.get("user")
    host = params.get("host") or params.get("hostaddr") or ""
    port = params.get("port")
    dbname = params.get("dbname")
    shown = "postgresql://"
    if user:
        shown += f"{user}@"
    shown += str(host)
    if port:
        shown += f":{port}"
    if dbname:
        shown += f"/{dbname}"
    if params.get("service"):
        shown += f" (service {params['service']})"
    return shown


def compute_scrubbed(text: str, conninfo: str) -> str:
    """``text`` with the password of ``conninfo``, if any, replaced: also when
    ``conninfo`` cannot be parsed, and also the pieces of it libpq quotes in its
    complaints (``missing "=" after "..."``)."""
    fragments: set[str] = set()
    try:
        password = _conninfo_to_dict(conninfo).get("password")
        if password:
            fragments.add(str(password))
    except Exception:  # unparsable: find it the way a person would
        pass
    for match in (_URL_PASSWORD.match(conninfo), *_KEYWORD_PASSWORD.finditer(conninfo)):
        if match:
            value = match.group(1)
            fragments.add(value)
            fragments.update(part for part in re.split(r"[\s'\\]+", value) if len(part) > 1)
            fragments.update(part for part in re.split(r"[&?#]", value) if len(part) > 1)
    for fragment in sorted(fragments, key=len, reverse=True):
        text = text.replace(fragment, "***")
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def load_password_credential(environ: Mapping[str, str] | None = None) -> str | None:
    """The password systemd passes as credential ``state-db-password``, if any."""
    environ = os.environ if environ is None else environ
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / PASSWORD_CREDENTIAL
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigurationError(f"cannot read the credential {path}: {err.strerror}") from err
