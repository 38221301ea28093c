"""The spec files' stat signature: unchanged files give the same signature; a write, a
replacement, a new or removed file give another."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.daemon.specfiles import RACY_NS, load_spec_digest, load_spec_signature


def test_the_signature_changes_with_the_files_and_only_then(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    (specs / "sub").mkdir(parents=True)
    spec = specs / "a.yaml"
    spec.write_text("collections: {}\n")
    (specs / "sub" / "b.yml").write_text("groups: {}\n")
    paths = [specs]
    first = load_spec_signature(paths)
    assert load_spec_signature(paths) == first

    stat = spec.stat()
    spec.write_text("collections: {}\n")  # same bytes, same size: still a write
    os.utime(spec, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    second = load_spec_signature(paths)
    assert second != first

    replacement = specs / ".a.yaml.tmp"
    replacement.write_text("collections: {}\n")
    assert load_spec_signature(paths) == second  # hidden files do not count
    replacement.replace(spec)  # an editor's atomic save
    third = load_spec_signature(paths)
    assert third != second

    (specs / "c.yaml").write_text("groups: {}\n")
    fourth = load_spec_signature(paths)
    assert fourth != third
    (specs / "c.yaml").unlink()
    assert load_spec_signature(paths) == third


def test_a_missing_path_has_a_stable_signature(tmp_path: Path) -> None:
    missing = [tmp_path / "nowhere.yaml"]
    before = load_spec_signature(missing)
    assert load_spec_signature(missing) == before
    (tmp_path / "nowhere.yaml").write_text("groups: {}\n")
    assert load_spec_signature(missing) != before


def test_a_signature_taken_right_after_a_change_is_not_trusted(tmp_path: Path) -> None:
    """Git's racy-clean rule: within the file-time tick of a write, a second same-size
    write would leave the stat unchanged, so such a signature never vouches for the
    files."""
    spec = tmp_path / "a.yaml"
    spec.write_text("groups: {}\n")
    changed = max(spec.stat().st_mtime_ns, spec.stat().st_ctime_ns)
    fresh = load_spec_signature([spec], clock=lambda: changed + RACY_NS // 2)
    settled = load_spec_signature([spec], clock=lambda: changed + RACY_NS + 1)
    assert not fresh.trusted
    assert settled.trusted
    assert not settled.same_files(fresh)  # an untrusted one never matches
    assert fresh.same_files(settled)
    assert not settled.same_files(None)


def test_the_digest_follows_the_content(tmp_path: Path) -> None:
    """What vouches for files whose stat cannot: a same-size write changes it."""
    spec = tmp_path / "a.yaml"
    spec.write_text("groups: {a: 1}\n")
    signature = load_spec_signature([tmp_path])
    before = load_spec_digest(signature)
    assert load_spec_digest(load_spec_signature([tmp_path])) == before
    spec.write_text("groups: {b: 1}\n")  # same size
    assert load_spec_digest(signature) != before
    spec.unlink()
    assert load_spec_digest(signature) != before  # gone: counted by its error
