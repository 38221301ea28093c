"""The probe's fence: the scratch directory and the paths allowed below it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.scratch import OutsideScratch, compute_scratch, require_inside

SCRATCH = "/scratch/probe/"


@pytest.mark.parametrize(
    ("given_path", "canonical"),
    [("/scratch/probe/", SCRATCH), ("/scratch/probe", SCRATCH), ("/a/", "/a/")],
)
def test_scratch_is_canonical(given_path: str, canonical: str) -> None:
    assert compute_scratch(given_path) == canonical


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("/", "root"),
        ("", "absolute"),
        ("scratch/", "absolute"),
        ("/a//b/", "empty component"),
        ("/a/../b/", "'.' or '..'"),
        ("/a/./", "'.' or '..'"),
        ("/a\n/", "control characters"),
    ],
)
def test_bad_scratch_directories_are_refused(bad: str, why: str) -> None:
    with pytest.raises(OutsideScratch, match=why):
        compute_scratch(bad)


@pytest.mark.parametrize(
    "inside",
    [f"{SCRATCH}run/", f"{SCRATCH}run", f"{SCRATCH}run/a/b/", f"{SCRATCH}file.txt"],
)
def test_paths_below_the_scratch_directory_pass(inside: str) -> None:
    assert require_inside(inside, SCRATCH) == inside


@pytest.mark.parametrize(
    "outside",
    [
        "/",
        "/scratch/",
        "/scratch/probe",
        SCRATCH,
        "/scratch/probe-other/",
        "/scratch/probeX/run/",
        f"{SCRATCH}../escape/",
        f"{SCRATCH}run/../../x/",
        f"{SCRATCH}./run/",
        f"{SCRATCH}run//x/",
        "/disthome/alice/",
        f"relative{SCRATCH}",
    ],
)
def test_everything_else_is_refused(outside: str) -> None:
    with pytest.raises(OutsideScratch):
        require_inside(outside, SCRATCH)


def test_reads_may_name_the_scratch_directory_itself() -> None:
    assert require_inside(SCRATCH, SCRATCH, allow_scratch=True) == SCRATCH
    assert require_inside("/scratch/probe", SCRATCH, allow_scratch=True) == "/scratch/probe"
    with pytest.raises(OutsideScratch):
        require_inside("/scratch/", SCRATCH, allow_scratch=True)


def _resolve(path: str) -> list[str]:
    """What a file system would make of ``path``: '.' dropped, '..' going up."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return parts


@given(st.lists(st.sampled_from(["scratch", "probe", "..", ".", "", "x", "probe2"]), max_size=8))
def test_no_accepted_path_resolves_outside_the_scratch_directory(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    try:
        require_inside(path, SCRATCH)
    except OutsideScratch:
        return
    resolved = _resolve(path)
    assert resolved[:2] == ["scratch", "probe"]
    assert len(resolved) > 2
