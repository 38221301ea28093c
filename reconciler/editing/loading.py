"""Read a spec directory's files for an edit: the same files ``reconciler validate``
reads (found by ``reconciler.spec.finding``: ``*.yaml``/``*.yml`` below the directory,
sorted, hidden entries and symlinked directories skipped), named the same way, so
diagnostics match. A directory that cannot be seen whole refuses the edit: checked
against part of the specs, it could break the rest. Reads only; never writes. Also
checks a ``--file`` that an edit may create.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.editing.errors import BadArgument, EditRefused
from reconciler.editing.yamltext import SpecText, compute_spec_text
from reconciler.spec.finding import DEFAULT_MAX_FILE_SIZE, SPEC_SUFFIXES, scan_spec_paths


def find_spec_files(specs_dir: Path) -> list[Path]:
    """The spec files below ``specs_dir`` in the validator's order; ``EditRefused`` when
    part of the directory cannot be listed or a spec file cannot be read safely."""
    scan = scan_spec_paths([specs_dir], max_file_size=DEFAULT_MAX_FILE_SIZE)
    errors = [d for d in scan.diagnostics if d.severity == "error"]
    if errors:
        raise EditRefused(
            f"{specs_dir}: part of the spec directory cannot be read, so no edit is made",
            hint="fix the errors above (`reconciler validate` lists them), then run this again",
            diagnostics=errors,
        )
    return list(scan.files)


def load_spec_texts(specs_dir: Path, *, new_file: Path | None = None) -> list[SpecText]:
    """The text of every spec file below ``specs_dir``; ``new_file`` (inside it, see
    ``compute_new_file``) is added as an empty file when it does not exist yet."""
    texts: list[SpecText] = []
    for path in find_spec_files(specs_dir):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise EditRefused(
                f"{path}: cannot read the file: {exc.strerror or exc}",
                hint="check that the file exists and is readable",
            ) from exc
        texts.append(compute_spec_text(path, str(path), raw))
    if new_file is not None and not any(t.path == new_file for t in texts):
        if new_file.exists():
            raise BadArgument(
                f"{new_file} is not read as a spec file",
                hint="spec files end in .yaml or .yml and are not hidden",
            )
        texts.append(SpecText(path=new_file, name=str(new_file), text="", exists=False))
    return texts


def compute_new_file(specs_dir: Path, file: Path) -> Path:
    """``file`` as the spec loader would name it below ``specs_dir``; ``BadArgument``
    when it is outside the directory, hidden, or not a ``.yaml``/``.yml`` file."""
    base = specs_dir.absolute()
    target = file if file.is_absolute() else Path.cwd() / file
    target = Path(os.path.normpath(target))
    try:
        relative = target.relative_to(Path(os.path.normpath(base)))
    except ValueError:
        raise BadArgument(
            f"{file} is not inside the spec directory {specs_dir}",
            hint="give a file below the spec directory (or another --specs DIR)",
        ) from None
    if not relative.parts or any(part.startswith(".") for part in relative.parts):
        raise BadArgument(
            f"{file} is hidden, so the spec loader would skip it",
            hint="use a file name that does not start with `.`",
        )
    if not target.name.endswith(SPEC_SUFFIXES):
        raise BadArgument(f"{file} is not a .yaml or .yml file", hint="name it e.g. grants.yaml")
    return specs_dir.joinpath(*relative.parts)
