"""The tests' throwaway PostgreSQL cluster never outlives its session: when the process
that owns it is killed before it could stop it, the next session stops and removes it."""

from __future__ import annotations

import os
import subprocess

from tests.postgres import Cluster, process_identity, reap_orphans, start_cluster


def test_a_cluster_whose_owner_was_killed_is_stopped_and_removed() -> None:
    owner = subprocess.Popen(["sleep", "60"])
    cluster: Cluster | None = None
    try:
        cluster = start_cluster(owner=owner.pid)
        assert cluster.alive()
        assert cluster.home not in reap_orphans()  # its owner still runs
        assert cluster.alive()
        owner.kill()  # SIGKILL: the owner's session end never comes
        owner.wait()
        assert process_identity(owner.pid) is None
        assert cluster.home in reap_orphans()
        assert not cluster.alive()
        assert not os.path.exists(cluster.home)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        if cluster is not None:
            cluster.stop()


def test_the_session_cluster_is_owned_by_the_controlling_process(
    postgres: Cluster, worker_id: str
) -> None:
    with open(os.path.join(postgres.home, "owner")) as handle:
        owner = handle.read().strip()
    pid = int(owner.split()[0])
    assert owner == process_identity(pid)  # alive, and the same process
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        assert b"pytest" in handle.read()  # the run's controller (xdist: the workers' parent)
    if worker_id != "master":
        assert pid != os.getpid()
