"""``--state-db``: a path is SQLite, a PostgreSQL URL or libpq keyword string is
PostgreSQL, anything else URL-like is refused; passwords never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ConfigurationError
from reconciler.logs import redact_text
from reconciler.state import PostgresLocation, SqliteLocation, parse_location
from reconciler.state.locating import compute_scrubbed, load_password_credential
from reconciler.state.postgres import compute_conninfo


@pytest.mark.parametrize(
    ("text", "display"),
    [
        (
            "postgresql://rec@db.example.org:5432/reconciler",
            "postgresql://rec@db.example.org:5432/reconciler",
        ),
        ("postgres://rec:s3cret@db/reconciler", "postgresql://rec@db/reconciler"),
        ("POSTGRESQL://rec@db/reconciler", "postgresql://rec@db/reconciler"),
        (
            "postgresql:///reconciler?host=/run/postgresql",
            "postgresql:///run/postgresql/reconciler",
        ),
        (
            "postgresql://rec@db/reconciler?sslmode=require&password=s3cret",
            "postgresql://rec@db/reconciler",
        ),
        (
            "host=db port=5433 user=rec dbname=reconciler password=s3cret",
            "postgresql://rec@db:5433/reconciler",
        ),
        ("service=reconciler", "postgresql:// (service reconciler)"),
    ],
)
def test_postgresql_forms(text: str, display: str) -> None:
    location = parse_location(text)
    assert isinstance(location, PostgresLocation)
    assert location.display == display
    assert "s3cret" not in repr(location)


@pytest.mark.parametrize(
    "text",
    [
        "state.db",
        "/var/lib/reconciler/state.db",
        "./a=b/state.db",
        "x:y.db",
        "postgresql.db",
        "postgres-state/state.db",
    ],
)
def test_paths(text: str) -> None:
    assert parse_location(text) == SqliteLocation(Path(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mysql://rec@db/reconciler", "mysql:// is not a supported store"),
        ("sqlite:///var/lib/state.db", "sqlite:// is not a supported store"),
        ("postgresql:reconciler", "not a valid PostgreSQL connection string"),
        ("postgresql://rec:s3cret@[db/x", "not a valid PostgreSQL connection string"),
        ("host=db nonsense=1", "not a valid PostgreSQL connection string"),
        ("  ", "--state-db is empty"),
        # Typos: never a file path, and never the password in the message.
        ("postgresql//rec:s3cret@db/reconciler", "looks like a mistyped URL"),
        ("Postgres/rec:s3cret@db/reconciler", "looks like a mistyped URL"),
        ("./postgresql://rec:s3cret@db/reconciler", "looks like a mistyped URL"),
        ("postgres:/rec:s3cret@db/x?bad=1", "not a valid PostgreSQL connection string"),
        ("postgresql:rec:s3cret@db/x", "not a valid PostgreSQL connection string"),
        ("host=db password=s3cret trailing", "not a valid PostgreSQL connection string"),
        ("host=db password='s3cret s3cret2' x", "not a valid PostgreSQL connection string"),
    ],
)
def test_what_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        parse_location(text)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_passwords_are_scrubbed_from_messages_and_logs() -> None:
    url = "postgresql://rec:s3cret@db/reconciler"
    assert (
        compute_scrubbed(f"failed for {url}", url)
        == "failed for postgresql://rec:***@db/reconciler"
    )
    assert compute_scrubbed("password s3cret rejected", "host=db password=s3cret") == (
        "password *** rejected"
    )
    assert "s3cret" not in redact_text(f"store={url}")


def test_the_systemd_credential_supplies_a_missing_password(tmp_path: Path) -> None:
    assert load_password_credential({}) is None
    assert load_password_credential({"CREDENTIALS_DIRECTORY": str(tmp_path)}) is None
    (tmp_path / "state-db-password").write_text("from-credential\n")
    password = load_password_credential({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert password == "from-credential"
    with_password = compute_conninfo("postgresql://rec@db/reconciler", password=password)
    assert "password=from-credential" in with_password
    kept = compute_conninfo("postgresql://rec:given@db/reconciler", password=password)
    assert "password=given" in kept
    assert "from-credential" not in kept


def test_keepalives_are_added_unless_given() -> None:
    info = compute_conninfo(
        "postgresql://rec@db/reconciler?keepalives_idle=30&options=-csearch_path%3Dops",
        password=None,
    )
    assert "keepalives_idle=30" in info
    assert "tcp_user_timeout=6000" in info
    assert "-csearch_path=ops" in info
    assert "tcp_keepalives_idle=5" in info
