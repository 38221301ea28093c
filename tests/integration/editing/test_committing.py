"""--commit: the edit is committed alone, with a descriptive message, in the spec
directory's git work tree; concurrent committers do not race on git's index; a failed
commit is reported and the edit stays."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import api
from reconciler.cli import cli

ROOT = Path(__file__).parents[3]
NOW = "2026-11-26T12:00:00Z"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the tutorial specs in specs/, all committed."""
    repo = tmp_path / "gitops"
    shutil.copytree(ROOT / "tests" / "data" / "editing" / "tutorial", repo / "specs")
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "config", "user.name", "Gateway Test")
    git(repo, "config", "user.email", "gateway@example.org")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "add", "specs")
    git(repo, "commit", "-q", "-m", "specs")
    return repo


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_a_grant_is_committed_alone_with_a_descriptive_message(repo: Path) -> None:
    specs = repo / "specs"
    (specs / "groups.yaml").write_text((specs / "groups.yaml").read_text() + "# staged, not ours\n")
    git(repo, "add", "specs/groups.yaml")
    code, out, err = invoke(
        "grant",
        "add",
        "per-user",
        "carol@example.org",
        "--for",
        "14d",
        "--specs",
        str(specs),
        "--commit",
        "--now",
        NOW,
    )
    assert (code, err) == (0, "")
    subject = "grant carol@example.org r on tutorial/per-user until 2026-12-10T12:00:00Z"
    assert git(repo, "log", "-1", "--format=%s%n%an").splitlines() == [subject, "Gateway Test"]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["specs/tutorial.yaml"]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["specs/groups.yaml"]
    assert git(repo, "status", "--porcelain", "specs/tutorial.yaml") == ""
    revision = git(repo, "rev-parse", "HEAD").strip()
    assert f"committed {revision[:12]}: {subject}" in out


def test_tidy_commits_a_body_listing_what_went(repo: Path) -> None:
    result = api.tidy(repo / "specs", older_than="1d", commit=True, now=api_now("2028-02-01"))
    assert result.commit is not None
    assert result.commit.ok, result.commit.error
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("tidy: remove 2 grants and 1 membership expired before 2028-01-31")
    assert "grant alice@example.org on tutorial/per-user" in message
    assert "membership globus.demodoc@gmail.com in tutorial-users" in message


def api_now(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T00:00:00+00:00")


def test_a_failed_commit_is_reported_and_the_edit_stays(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    head = git(repo, "rev-parse", "HEAD")
    code, out, err = invoke(
        "membership",
        "add",
        "tutorial-users",
        "dan@example.org",
        "--for",
        "7d",
        "--specs",
        str(repo / "specs"),
        "--commit",
        "--now",
        NOW,
    )
    assert code == 1
    assert "changed" in out
    assert "error: the edit was written but not committed: policy says no" in err
    assert git(repo, "rev-parse", "HEAD") == head
    assert "identity: dan@example.org" in (repo / "specs" / "tutorial.yaml").read_text()


def test_concurrent_committers_each_get_their_commit(repo: Path) -> None:
    script = (
        "import sys\nfrom reconciler.api import add_grant\n"
        "r = add_grant(sys.argv[1], 'per-user', sys.argv[2], duration='7d', commit=True)\n"
        "assert r.commit.ok, r.commit.error\n"
    )
    users = [f"c{i}@example.org" for i in range(4)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(repo / "specs"), user], stderr=subprocess.PIPE
        )
        for user in users
    ]
    outcomes = [(p.communicate(timeout=120)[1].decode(), p.returncode) for p in processes]
    errors = [err for err, code in outcomes if code != 0]
    assert not errors, errors[0]
    subjects = git(repo, "log", "--format=%s").splitlines()
    assert len(subjects) == 1 + len(users)
    assert {s.split()[1] for s in subjects[:-1]} == set(users)
    assert git(repo, "status", "--porcelain", "specs/tutorial.yaml") == ""


@pytest.mark.parametrize("commit", [False, True])
def test_an_edit_leaves_no_lock_file_in_the_work_tree(repo: Path, commit: bool) -> None:
    """The lock lives in the git directory, so the user's repository stays clean."""
    flags = ["--commit"] if commit else []
    code, _, err = invoke(
        "grant", "add", "per-user", "carol@example.org", "--for", "14d",
        "--specs", str(repo / "specs"), "--now", NOW, *flags,
    )  # fmt: skip
    assert (code, err) == (0, "")
    untracked = git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored")
    expected = "" if commit else " M specs/tutorial.yaml\n"
    assert untracked == expected
    assert (repo / ".git" / "reconciler.lock").is_file()


def test_a_linked_work_tree_locks_in_its_own_git_directory(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked))
    code, _, err = invoke(
        "grant", "add", "per-user", "carol@example.org", "--for", "14d",
        "--specs", str(linked / "specs"), "--now", NOW,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert git(linked, "status", "--porcelain", "--untracked-files=all") == (
        " M specs/tutorial.yaml\n"
    )
    git_dir = Path(git(linked, "rev-parse", "--absolute-git-dir").strip())
    assert (git_dir / "reconciler.lock").is_file()
