"""Fuzzing the spec loader through the CLI contract: ``reconciler validate`` (click's
CliRunner) on generated and mutated spec files.

Whatever the input, ``validate`` exits 0 (valid) or 1 (invalid), never prints a
traceback, and every error it prints is located: ``file:line:col: error: message`` with
a line that exists in the file that was written. The unit properties in tests/unit/spec
call the loader on one small example; these go through the command on the real example
specs (specs/*.yaml, mutated line by line and byte by byte, across three files), on
random YAML structures built from the language's own keys, on random bytes, and on huge
and deeply nested documents. Where the culprit is known (one line of an example broken
on purpose), the error must be on that line, at that column. Pathological documents run
in a child process whose memory is capped and measured: each must end, in bounded time
and memory, with the right exit status.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.cli import cli
from reconciler.spec import compute_spec_set
from tests.reliability.conftest import Scale, Seeded

SPECS = Path(__file__).resolve().parents[2] / "specs"
EXAMPLES = {p.name: p.read_bytes() for p in sorted(SPECS.glob("*.yaml"))}
NOW = "2026-11-26T12:00:00Z"
FIXED_NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
LOCATED = re.compile(
    r"^(?P<file>.+?)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<severity>error|warning): \S"
)
"""``file:line:col: severity: ...``, or ``file: severity: ...`` for a whole file."""
SUMMARY = re.compile(r"^(OK: |.+: \d+ errors?, \d+ warnings? in \d+ files?$)")
SPEC_KEYS = [
    "collections", "groups", "distributions", "memberships", "id", "root", "policy",
    "max_permissions", "max_duration", "allow_public", "cleanup", "members", "name",
    "collection", "path", "stage", "from", "grants", "identity", "group", "public",
    "expires", "permissions", "notify", "revoke_after_download", "<<",
]  # fmt: skip
WEIRD_VALUES = [
    "", "~", "null", "[]", "{}", "[1, 2]", "{a: 1}", "-1", "1e400", "0x1F", ".nan", "-.inf",
    "true", "no", "2027-02-30", "2027-12-31T25:00:00Z", "9999-12-31", "0001-01-01",
    "2027-12-31T00:00:00", "1d", "-5d", "999999999999999999999d", "'{identity_id}'",
    "/disthome/../etc/", "/", "//", "/disthome", "e56c36e4-1063-11e6-a747-22000bf2d559",
    "E56C36E4-1063-11E6-A747-22000BF2D559", "not-a-uuid", "&a x", "*a", "*undefined",
    "!!binary aGk=", "!!python/object:os.system x", "!custom x", "'unterminated",
    '"\\x00\\ud800"', "\u202e\u0000", "|\n  block", ">-\n  folded", "? complex", "- item",
    "x" * 5000, "ünïcødé ✓ 🙂", "{{identity_id}}", "{identity_id", "%TAG ! x",
]  # fmt: skip
INSERTS = [b"\t", b"- ", b": ", b"\x00", b"\xff\xfe", b"---\n", b"...\n", b"&x ", b"*x",
           b"<<: *x\n", b"\r\n", b"\xef\xbb\xbf", b"#", b"'", b'"', b"[", b"{", b"}", b"]",
           b"%YAML 1.1\n", b"!!str ", b"? "]  # fmt: skip
MAX_SECONDS = 30.0
"""Bound on validating one pathological input, process start included: it must end,
with an answer."""
MAX_RSS_MB = 400
"""Bound on the peak memory of ``reconciler validate`` on one pathological input (about
60 MB for the example specs; the 20,000 grants of the long form need about 150 MB)."""
ADDRESS_SPACE_LIMIT = 2 * 1024**3
"""RLIMIT_AS of the child: a runaway allocation fails there instead of on the machine."""
HUGE = 2_000
HUGE_LONG = 20_000
DEEP = 1_000
DEEP_LONG = 100_000


def validate(directory: Path, *, output: str = "text") -> Any:
    return CliRunner().invoke(cli, ["validate", "--now", NOW, "--output", output, str(directory)])


def check_contract(result: Any, files: Mapping[Path, bytes], *, output: str = "text") -> None:
    """Exit 0 or 1, no traceback, every error located inside a file that was written."""
    shown = result.output + (result.stderr or "")
    assert "Traceback" not in shown, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1), shown
    assert "internal error" not in shown, shown
    lines = {str(path): line_count(data) for path, data in files.items()}
    located = _located_json(result.output, lines) if output == "json" else _located(shown, lines)
    errors = [d for d in located if d[3] == "error"]
    if result.exit_code == 1:
        assert errors, f"exit 1 without a located error:\n{shown}"
    else:
        assert not errors, shown


def line_count(data: bytes) -> int:
    """The lines of a file, as an editor shows them (a last line without a newline
    counts, an empty file has one), by ``\n`` or by any break YAML counts (``\r``,
    U+0085, U+2028, U+2029), whichever gives more."""
    text = data.decode("utf-8", errors="replace")
    by_newline = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    breaks = re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)
    by_yaml = len(breaks) + (0 if re.search("[\r\n\x85\u2028\u2029]$", text) else 1)
    return max(1, by_newline, by_yaml)


def _located(text: str, lines: Mapping[str, int]) -> list[tuple[str, int, int, str]]:
    found: list[tuple[str, int, int, str]] = []
    for line in text.splitlines():
        if not line or line.startswith("  "):  # hints, and continuation of messages
            continue
        match = LOCATED.match(line)
        if match is None:
            # Messages may span lines (a value shown in them); the summary ends the output.
            assert SUMMARY.match(line) or found, f"an unlocated line: {line!r}\n{text}"
            continue
        found.append(
            _check_position(match["file"], match["line"] or "0", match["col"] or "0", lines)
        )
        found[-1] = (*found[-1][:3], match["severity"])
    last = text.rstrip().splitlines()[-1:] or [""]
    assert SUMMARY.match(last[0]), f"no summary line:\n{text}"
    return found


def _located_json(text: str, lines: Mapping[str, int]) -> list[tuple[str, int, int, str]]:
    doc = json.loads(text)
    found: list[tuple[str, int, int, str]] = []
    for d in doc["diagnostics"]:
        assert d["message"], d
        where = _check_position(d["file"], str(d["line"]), str(d["column"]), lines)
        found.append((*where[:3], d["severity"]))
    assert doc["valid"] == (doc["errors"] == 0)
    return found


def _check_position(
    file: str, line: str, col: str, lines: Mapping[str, int]
) -> tuple[str, int, int, str]:
    assert file in lines, f"a diagnostic for {file!r}, which is not one of {sorted(lines)}"
    if (line, col) == ("0", "0"):  # about the whole file (its size, its kind)
        return (file, 0, 0, "")
    assert 1 <= int(line) <= lines[file], f"{file}:{line} is outside the file"
    assert int(col) >= 1, f"{file}:{line}:{col}"
    return (file, int(line), int(col), "")


def write_files(directory: Path, files: Mapping[str, bytes]) -> dict[Path, bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    written = {}
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        written[path] = data
    return written


# --- strategies -------------------------------------------------------------------------


@st.composite
def mutated_examples(draw: st.DrawFn) -> dict[str, bytes]:
    """The example spec set with one to five mutations in one or two of its files."""
    files = dict(EXAMPLES)
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(sorted(files)))
        files[name] = draw(mutations(files[name]))
    return files


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 5))):
        lines = data.split(b"\n")
        kind = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "indent", "value", "key", "insert", "byte",
                 "truncate", "comment-out"]
            )
        )  # fmt: skip
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(j, lines[i])
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            shift = draw(st.integers(-4, 4))
            lines[i] = b" " * max(0, shift) + (lines[i][-shift:] if shift < 0 else lines[i])
        elif kind == "value" and b": " in lines[i]:
            key = lines[i].split(b": ", 1)[0]
            lines[i] = key + b": " + draw(st.sampled_from(WEIRD_VALUES)).encode()
        elif kind == "key" and b":" in lines[i]:
            key, rest = lines[i].split(b":", 1)
            word = draw(st.sampled_from(SPEC_KEYS)).encode()
            lines[i] = key[: len(key) - len(key.lstrip())] + word + b":" + rest
        elif kind == "comment-out":
            lines[i] = b"# " + lines[i]
        data = b"\n".join(lines)
        if kind == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.sampled_from(INSERTS)) + data[at:]
        elif kind == "byte" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
    return data


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WEIRD_VALUES),
    st.text(max_size=30),
    st.dates().map(str),
    st.uuids().map(str),
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(SPEC_KEYS), st.text(max_size=10)), inner,
                        max_size=6),
    ),
    max_leaves=30,
)  # fmt: skip


@st.composite
def random_documents(draw: st.DrawFn) -> dict[str, bytes]:
    """One to three files of random YAML whose top level uses the spec's sections."""
    files = {}
    for n in range(draw(st.integers(1, 3))):
        top = draw(
            st.dictionaries(
                st.sampled_from(["collections", "groups", "distributions", "memberships"]),
                yaml_values,
                min_size=1,
                max_size=4,
            )
        )
        files[f"random-{n}.yaml"] = dump(top)
    return files


def dump(data: Any) -> bytes:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None
    yaml.dump(data, out)
    return out.getvalue().encode()


# --- properties -------------------------------------------------------------------------


def fuzz(
    strategy: st.SearchStrategy[dict[str, bytes]],
    directory: Path,
    *,
    examples: int,
    scale: Scale,
    rng: Seeded,
) -> Callable[[], None]:
    """A hypothesis test of the contract over ``strategy``: the same examples every run
    in the fast form; in the long form, seeded from the run's base seed, so
    ``RELIABILITY_SEED`` reproduces a failure (hypothesis also prints the example)."""

    @seed(rng.getrandbits(64))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=not scale.long,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy, st.sampled_from(["text", "json"]))
    def run(files: dict[str, bytes], output: str) -> None:
        written = write_files(directory, files)
        check_contract(validate(directory, output=output), written, output=output)

    return run


def test_the_unmodified_examples_are_valid(tmp_path: Path) -> None:
    written = write_files(tmp_path / "specs", EXAMPLES)
    result = validate(tmp_path / "specs")
    assert result.exit_code == 0, result.output
    check_contract(result, written)


def test_mutated_example_specs_keep_the_contract(scale: Scale, rng: Seeded, tmp_path: Path) -> None:
    examples = scale.fuzz_examples
    fuzz(mutated_examples(), tmp_path / "specs", examples=examples, scale=scale, rng=rng)()


def test_random_yaml_structures_keep_the_contract(
    scale: Scale, rng: Seeded, tmp_path: Path
) -> None:
    examples = scale.fuzz_examples // 2  # larger inputs, fewer of them
    fuzz(random_documents(), tmp_path / "specs", examples=examples, scale=scale, rng=rng)()


def test_random_bytes_keep_the_contract(scale: Scale, rng: Seeded, tmp_path: Path) -> None:
    strategy = st.dictionaries(
        st.sampled_from(["a.yaml", "b.yml"]), st.binary(max_size=3000), min_size=1
    )
    examples = scale.fuzz_examples
    fuzz(strategy, tmp_path / "specs", examples=examples, scale=scale, rng=rng)()


def huge_spec(grants: int) -> bytes:
    lines = [
        "collections:",
        "  c:",
        "    id: 11111111-2222-3333-4444-555555555555",
        "    root: /disthome/",
        "distributions:",
        "  - name: many",
        "    collection: c",
        "    grants:",
    ]
    for i in range(grants):
        lines += [
            f"      - identity: user{i}@example.org",
            f"        path: /disthome/u{i}/",
            "        expires: 2027-06-30",
        ]
    return ("\n".join(lines) + "\n").encode()


def deep(opening: bytes, closing: bytes, scale: Scale) -> bytes:
    depth = DEEP_LONG if scale.long else DEEP
    return b"collections: " + opening * depth + b"1" + closing * depth


def alias_bomb() -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + "\ncollections: *a9\n").encode()


PATHOLOGICAL: dict[str, Callable[[Scale], dict[str, bytes]]] = {
    "huge-valid": lambda s: {"huge.yaml": huge_spec(HUGE_LONG if s.long else HUGE)},
    "huge-with-one-error": lambda s: {
        "huge.yaml": huge_spec(HUGE_LONG if s.long else HUGE).replace(b"u777/", b"u777/../x/", 1)
    },
    "deep-flow-lists": lambda s: {"deep.yaml": deep(b"[", b"]", s)},
    "deep-flow-maps": lambda s: {"deep.yaml": deep(b"{a: ", b"}", s)},
    "deep-block": lambda s: {
        "deep.yaml": b"".join(b"  " * i + b"k%d:\n" % i for i in range(3_000))
    },
    "alias-bomb": lambda s: {"bomb.yaml": alias_bomb()},
    "long-line": lambda s: {"long.yaml": b"collections:\n  c:\n    root: /" + b"a" * 2_000_000},
    "many-documents": lambda s: {"docs.yaml": b"---\ngroups: {}\n" * (50_000 if s.long else 2_000)},
    "many-files": lambda s: {f"f{i:03}.yaml": b"groups: {}\n" for i in range(300)},
    "nul-bytes": lambda s: {"nul.yaml": b"\x00" * 100_000},
    "utf16": lambda s: {"u16.yaml": EXAMPLES["tutorial.yaml"].decode().encode("utf-16")},
    "utf16-without-bom": lambda s: {
        "u16.yaml": EXAMPLES["tutorial.yaml"].decode().encode("utf-16-le")
    },
    "over-the-size-limit": lambda s: {"big.yaml": b"# padding\n" * 1_100_000},
}
VALID = {"huge-valid", "many-documents", "many-files"}
"""The pathological inputs that are valid spec sets; every other one must exit 1."""
CULPRIT = {"huge-with-one-error": ("huge.yaml", 3 * 777 + 10)}
"""Where the one error of a pathological input is: (file, line)."""


def test_pathological_documents_keep_the_contract_in_bounded_time_and_memory(
    scale: Scale, tmp_path: Path
) -> None:
    """Every pathological case validated in its own capped process (one test, so that
    the cases share one interpreter start; see bounded_validate.py)."""
    written: dict[str, dict[Path, bytes]] = {}
    cases: dict[str, str] = {}
    for case, build in sorted(PATHOLOGICAL.items()):
        written[case] = write_files(tmp_path / case, build(scale))
        cases[str(tmp_path / case)] = case
    runner = Path(__file__).with_name("bounded_validate.py")
    done = subprocess.run(
        [sys.executable, str(runner), NOW, str(ADDRESS_SPACE_LIMIT), *cases],
        capture_output=True,
        text=True,
        check=True,
        timeout=MAX_SECONDS * len(cases),
    )
    runs = {cases[r["directory"]]: r for r in map(json.loads, done.stdout.splitlines())}
    assert sorted(runs) == sorted(PATHOLOGICAL), done.stderr
    for case, run in runs.items():
        code, output = run["code"], run["output"]
        check_contract(_Outcome(code, output), written[case])
        assert run["seconds"] < MAX_SECONDS, f"{case}: validating took {run['seconds']:.1f}s"
        assert run["peak_mb"] < MAX_RSS_MB, f"{case}: validating used {run['peak_mb']:.0f} MB"
        assert code == (0 if case in VALID else 1), f"{case}:\n{output[-2000:]}"
        if case in CULPRIT:
            name, line = CULPRIT[case]
            located = [(Path(m["file"]).name, int(m["line"])) for m in _errors_in(output)]
            assert located == [(name, line)], f"{case}:\n{output[-2000:]}"


class _Outcome:
    """A child's exit status and output, shaped as ``check_contract`` reads a result."""

    def __init__(self, code: int, output: str) -> None:
        self.exit_code = code
        self.output = output
        self.stderr = ""
        self.exception = None


def _errors_in(output: str) -> list[re.Match[str]]:
    return [
        m
        for line in output.splitlines()
        if (m := LOCATED.match(line)) is not None and m["severity"] == "error"
    ]


def test_one_file_beyond_the_old_node_cap_loads_and_locates_its_one_error() -> None:
    """70,000 grants in one file (a cap of 200,000 YAML nodes stopped at about 66,000,
    saying "too large once aliases are expanded" of a file without aliases), with one
    error near the end: that error alone, on its line."""
    grants = 70_000
    data = huge_spec(grants).replace(b"/u69777/", b"/u69777/../x/", 1)
    intent, diagnostics = compute_spec_set([("huge.yaml", data)], now=FIXED_NOW)
    assert intent is None
    assert [(d.line, d.col, d.severity) for d in diagnostics] == [(8 + 3 * 69777 + 2, 15, "error")]
    assert "contains a `.` or `..` segment" in diagnostics[0].message


# --- a line broken on purpose is the line reported ---------------------------------------

HYGIENE_KEYS = ("identity", "group", "path", "root", "id", "collection")
"""Keys whose value is a username, UUID, name or path: an invisible character in one
is an error at that very character."""
ENTRY = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>\w+): (?P<value>[^ #{}\[\]]+)")


def culprit_mutations() -> list[tuple[str, int, str, bytes, int]]:
    """(file, 1-based line, label, mutated file, expected column) for every line
    of the example specs that one targeted change must break, and break there alone."""
    cases: list[tuple[str, int, str, bytes, int]] = []
    for name, data in EXAMPLES.items():
        lines = data.decode().split("\n")
        for i, line in enumerate(lines):
            match = ENTRY.match(line)
            if match is None:
                continue
            at = match.start("value")
            value = match["value"]
            if match["key"] in HYGIENE_KEYS:
                for char in ("\u200b", "\u00a0", "\u202e", "\u0430"):
                    cut = at + len(value) // 2
                    broken = [*lines]
                    broken[i] = line[:cut] + char + line[cut:]
                    label = f"U+{ord(char):04X} in `{match['key']}`"
                    cases.append((name, i + 1, label, "\n".join(broken).encode(), cut + 1))
            if match["indent"]:
                broken = [*lines]
                broken[i] = "\u00a0" + line[1:]
                cases.append((name, i + 1, "no-break space indent", "\n".join(broken).encode(), 1))
            if match["dash"] is None:
                broken = [*lines]
                broken.insert(i + 1, line)
                key_col = match.start("key") + 1
                cases.append((name, i + 2, "duplicated line", "\n".join(broken).encode(), key_col))
    return cases


CULPRITS = culprit_mutations()


@pytest.mark.parametrize("culprit", CULPRITS, ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in CULPRITS])
def test_the_line_broken_on_purpose_is_the_line_reported(
    culprit: tuple[str, int, str, bytes, int], tmp_path: Path
) -> None:
    name, line, label, mutated, col = culprit
    written = write_files(tmp_path / "specs", {**EXAMPLES, name: mutated})
    result = validate(tmp_path / "specs")
    check_contract(result, written)
    assert result.exit_code == 1, result.output
    errors = [
        (Path(m["file"]).name, int(m["line"]), int(m["col"])) for m in _errors_in(result.output)
    ]
    assert errors == [(name, line, col)], f"{label}:\n{result.output}"


def test_the_culprit_mutations_cover_every_example_file() -> None:
    assert {c[0] for c in CULPRITS} == set(EXAMPLES)
    assert len(CULPRITS) > 100
