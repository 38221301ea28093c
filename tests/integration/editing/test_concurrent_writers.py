"""Many writers at once: 50 separate processes each add a grant to the same file at the
same moment. Every one succeeds, no update is lost, and the files stay valid.

The 50 writers are forked from one launcher after it has imported the API once, and
released together through a pipe, so they really do contend for the lock (and the test
does not spend its time importing pydantic 50 times). Each writer is its own process
with its own lock descriptor, exactly like 50 gateway workers. A few `python -m
reconciler grant add` processes check the command line the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from reconciler.spec import load_spec_set

ROOT = Path(__file__).parents[3]
TUTORIAL = ROOT / "tests" / "data" / "editing" / "tutorial"
WRITERS = 50
LAUNCHER = textwrap.dedent(
    """
    import os, sys
    from reconciler.api import add_grant

    specs, count = sys.argv[1], int(sys.argv[2])
    gate_read, gate_write = os.pipe()
    children = []
    for number in range(count):
        pid = os.fork()
        if pid == 0:
            os.close(gate_write)
            os.read(gate_read, 1)  # wait until every writer exists
            code = 1
            try:
                result = add_grant(
                    specs, "per-user", f"user{number:02}@example.org",
                    duration="7d", lock_timeout=120,
                )
                code = 0 if result.changed else 3
            except BaseException as error:
                print(f"writer {number}: {error!r}", file=sys.stderr)
            finally:
                os._exit(code)
        children.append(pid)
    os.close(gate_read)
    os.close(gate_write)  # every writer's read returns now: go
    failed = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    sys.exit(min(failed, 100))
    """
)


def check_grants(specs: Path, users: list[str]) -> None:
    result = load_spec_set([specs], now=datetime.now(UTC))
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.intent is not None
    granted = {g.principal.value for g in result.intent.grants if g.distribution == "per-user"}
    assert granted == {"alice@example.org", *users}
    text = (specs / "tutorial.yaml").read_text()
    assert all(text.count(f"identity: {user}\n") == 1 for user in users)
    assert text.startswith("# yaml-language-server: $schema=./reconciler.schema.json\n")
    assert [p.name for p in specs.iterdir() if p.name.endswith(".tmp")] == []


def test_fifty_processes_add_fifty_grants_without_losing_one(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(TUTORIAL, specs)
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(specs), str(WRITERS)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    check_grants(specs, [f"user{i:02}@example.org" for i in range(WRITERS)])


def test_command_line_writers_at_once(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(TUTORIAL, specs)
    users = [f"cli{i}@example.org" for i in range(4)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "grant",
                "add",
                "per-user",
                user,
                "--for",
                "7d",
                "--specs",
                str(specs),
                "--output",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for user in users
    ]
    outcomes = [(p.communicate(timeout=120), p.returncode) for p in processes]
    assert [code for _, code in outcomes] == [0] * len(users), outcomes
    check_grants(specs, users)
