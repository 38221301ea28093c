"""Throwaway PostgreSQL clusters for the tests: ``initdb`` in a temporary directory,
``pg_ctl start`` on a free loopback port with trust authentication, ``pg_ctl stop`` at
the end. As root, the server binaries run as the ``postgres`` user (initdb refuses
root). Missing binaries fail the test with one line saying how to install them.

The suite shares one cluster per pytest session (``tests/conftest.py`` stops it when
the session ends, xdist workers included); each worker has a database, and each test a
schema of its own (``search_path`` in the URL), so tests never see each other's rows.

A session that is killed (SIGKILL, a CI timeout) never reaches its end: each cluster's
directory names the process that owns it (``owner``: pid and start time), and the next
session stops and removes every cluster whose owner is gone, so none runs forever.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg

STATE_FILE = "postgres.json"
LOCK_FILE = "postgres.lock"
OWNER_FILE = "owner"
HOME_PREFIX = "reconciler-pg-"
SERVER_SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    " -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB"
)


class MissingPostgres(RuntimeError):
    pass


def find_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise MissingPostgres(
        f"PostgreSQL server binary {name!r} not found (PATH, /usr/lib/postgresql/*/bin): "
        "install postgresql-15 (`make test` does it with apt-get when run as root)"
    )


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    port: int
    home: str
    """The temporary directory: ``data/`` and ``server.log``."""

    @property
    def data(self) -> str:
        return os.path.join(self.home, "data")

    def url(self, dbname: str = "postgres", *, schema: str | None = None) -> str:
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"
        if schema:
            url += f"?options=-csearch_path%3D{schema}"
        return url

    def run(self, *args: str) -> None:
        subprocess.run(
            _as_server_user([find_binary("pg_ctl"), "-D", self.data, *args]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start_server(self) -> bool:
        """``pg_ctl start`` on this cluster's port; False when it failed (port taken)."""
        options = f"-p {self.port} -k {self.home} {SERVER_SETTINGS}"
        log = os.path.join(self.home, "server.log")
        started = subprocess.run(
            _as_server_user(
                [
                    find_binary("pg_ctl"),
                    "-D",
                    self.data,
                    "-l",
                    log,
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ]
            ),
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return started.returncode == 0

    def stop_server(self) -> None:
        """A fast shutdown: every session is ended, as in a restart."""
        self.run("-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.run("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.home, ignore_errors=True)

    def alive(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True


def process_identity(pid: int) -> str | None:
    """``pid`` and its start time (a pid alone may be reused), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the start time is field 22.
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def reap_orphans(tmp: str | None = None) -> list[str]:
    """Stop and remove the clusters whose owning process is gone; their homes."""
    reaped = []
    for home in sorted(Path(tmp or tempfile.gettempdir()).glob(f"{HOME_PREFIX}*")):
        try:
            owner = (home / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # not ours to judge (or still being created)
        pid = int(owner.split()[0]) if owner.split() and owner.split()[0].isdigit() else 0
        if pid and process_identity(pid) == owner:
            continue
        Cluster(0, str(home)).stop()
        reaped.append(str(home))
    return reaped


def start_cluster(owner: int | None = None) -> Cluster:
    """initdb and start a new cluster (a few seconds), owned by process ``owner`` (this
    one by default): once that is gone, ``reap_orphans`` stops it."""
    initdb = find_binary("initdb")
    find_binary("pg_ctl")
    home = tempfile.mkdtemp(prefix=HOME_PREFIX)
    Path(home, OWNER_FILE).write_text(process_identity(owner or os.getpid()) or "gone")
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            raise MissingPostgres(
                "as root, the tests run PostgreSQL as the 'postgres' user, which does not "
                "exist: install postgresql-15 (it creates the user)"
            ) from None
        os.chown(home, server_user.pw_uid, server_user.pw_gid)
    data = os.path.join(home, "data")
    init = [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    result = subprocess.run(
        _as_server_user(init), check=False, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
    for _attempt in range(5):
        cluster = Cluster(_free_port(), home)
        if cluster.start_server():
            return cluster
        time.sleep(0.2)  # the port was taken meanwhile: try another
    raise RuntimeError(f"pg_ctl start failed: {Path(home, 'server.log').read_text()[-2000:]}")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_cluster(directory: Path, *, owner: int | None = None) -> Cluster:
    """The session's cluster, recorded in ``directory`` (shared by the xdist workers):
    started by whichever process asks first, owned by ``owner`` (the process that
    stops it at the end of the session); clusters left by killed sessions are reaped."""
    with _locked(directory):
        state = directory / STATE_FILE
        if state.exists():
            cluster = Cluster(**json.loads(state.read_text()))
            if cluster.alive():
                return cluster
        reap_orphans()
        cluster = start_cluster(owner)
        state.write_text(json.dumps(asdict(cluster)))
        return cluster


def stop_shared_cluster(directory: Path) -> None:
    state = directory / STATE_FILE
    if state.exists():
        Cluster(**json.loads(state.read_text())).stop()
        state.unlink()


def ensure_database(cluster: Cluster, name: str) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')


def new_schema(cluster: Cluster, dbname: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url(dbname), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def drop_schema(cluster: Cluster, dbname: str, schema: str) -> None:
    with psycopg.connect(cluster.url(dbname), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
