"""``reconciler sandbox`` commands: exit codes as a contract, no tracebacks on bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli.sandboxing import sandbox as sandbox_cli
from reconciler.sandbox.control_client import SandboxControl
from reconciler.sandbox.local_control import LocalControl

SPEC = """
collections:
  petrel:
    id: e56c36e4-1063-11e6-a747-22000bf2d559
    root: /disthome/
distributions:
  - name: run42
    collection: petrel
    path: /disthome/run42/
    grants:
      - identity: alice@uchicago.edu
        expires: 2030-01-01
"""


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("RECONCILER_SANDBOX_URL", raising=False)
    monkeypatch.delenv("RECONCILER_SANDBOX_DB", raising=False)
    return CliRunner()


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "run42.yaml").write_text(SPEC)
    return tmp_path / "specs"


def _run(runner: CliRunner, *args: str):
    result = runner.invoke(sandbox_cli, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_seed_show_download_clock_reset_on_a_db_file(runner, specs, tmp_path) -> None:
    db = str(tmp_path / "world.db")
    seeded = _run(runner, "seed", "--from-specs", str(specs), "--db", db)
    assert seeded.exit_code == 0, seeded.output
    tuned = _run(runner, "settings", "task_seconds=0", "--db", db)
    assert "task_seconds = 0.0" in tuned.output

    downloaded = _run(runner, "download", "alice@uchicago.edu", "petrel", "/disthome/", "--db", db)
    assert downloaded.exit_code == 0, downloaded.output
    assert "alice@uchicago.edu downloaded 0 files" in downloaded.output

    moved = _run(runner, "clock", "advance", "2h", "--db", db)
    assert moved.exit_code == 0
    assert "+7200s" in moved.output

    shown = _run(runner, "show", "--db", db)
    assert shown.exit_code == 0
    assert "Collection petrel (e56c36e4-1063-11e6-a747-22000bf2d559" in shown.output
    assert "TRANSFER" in shown.output

    assert _run(runner, "reset", "--db", db).exit_code == 0
    assert "Collection petrel" not in _run(runner, "show", "--db", db).output


def test_show_through_a_running_sandbox(runner, sandbox) -> None:
    sandbox.control.add_identity("alice@example.org")
    collection = sandbox.add_managed_collection(display_name="petrel")
    result = _run(runner, "show", "--url", sandbox.url)
    assert result.exit_code == 0
    assert f"Collection petrel ({collection}" in result.output
    assert "access_manager" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["clock", "advance", "2x"], 2),
        (["show", "--url", "http://127.0.0.1:9", "--db", "x.db"], 2),
        (["download", "alice@example.org", "nope", "/disthome/"], 2),
        (["settings", "no-equals-sign"], 2),
        (["settings", "expiry_mode=sometimes"], 1),
        (["show", "--url", "http://127.0.0.1:9"], 1),
        (["show", "--db", "missing.db"], 1),
        (["seed"], 2),
    ],
)
def test_bad_input_exits_without_traceback(runner, tmp_path, args, code) -> None:
    with runner.isolated_filesystem(temp_dir=tmp_path):
        LocalControl(Path(".reconciler/sandbox.db")).close()  # an empty default world
        result = _run(runner, *args)
    assert result.exit_code == code, result.output


def test_invalid_specs_seed_nothing(runner, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("collections:\n  petrel:\n    id: not-a-uuid\n    root: /x/\n")
    db = str(tmp_path / "world.db")
    result = _run(runner, "seed", "--from-specs", str(bad), "--db", db)
    assert result.exit_code == 1
    assert "bad.yaml" in result.output
    assert "nothing was seeded" in result.output


def test_serve_prints_env_and_stops_on_sigterm(tmp_path, specs) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--db",
            str(tmp_path / "served.db"),
            "--seed-from-specs",
            str(specs),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Globus sandbox serving"), first
        url = first.rsplit(" at ", 1)[1].strip()
        lines = [process.stdout.readline() for _ in range(5)]
        assert f"  export GLOBUS_SDK_SERVICE_URL_TRANSFER={url}/\n" in lines
        dump = SandboxControl(url).dump()
        assert [c["display_name"] for c in dump["collections"]] == ["petrel"]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "sandbox stopped" in out
    assert "Traceback" not in err
