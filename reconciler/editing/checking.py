"""Check a proposed edit before anything is written. Pure.

Two checks, both on the text the edit would produce: the data read back from each
edited file must be exactly the old data with the intended change (nothing else moved:
a value shared through a YAML anchor, a key merged in with ``<<``); and the whole spec
set, with the edited files in their new state, must validate as of the edit's *now*
(``reconciler.spec.compute_spec_set``: syntax, names, references, policies, conflicts).
Either failure raises ``EditRefused`` with the located diagnostics; nothing here reads
or writes a file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.editing.errors import EditRefused
from reconciler.editing.proposals import FileEdit, Proposal, compute_expected
from reconciler.editing.splicing import compute_spliced
from reconciler.editing.yamltext import ParsedText, compute_parsed, compute_plain
from reconciler.spec import Diagnostic, compute_spec_set


@dataclass(frozen=True, slots=True)
class Checked:
    """The new text of each edited file, and the warnings the edit introduces."""

    texts: dict[Path, str]
    warnings: tuple[Diagnostic, ...]


def compute_checked(files: Sequence[ParsedText], proposal: Proposal, *, now: datetime) -> Checked:
    """The edited texts of ``proposal`` over ``files``, or ``EditRefused``."""
    parsed = {f.spec.path: f for f in files}
    texts = {edit.spec.path: _spliced(edit, parsed.get(edit.spec.path)) for edit in proposal.edits}
    after = [
        (f.spec.name, f.spec.encode(texts.get(f.spec.path)))
        for f in files
        if f.spec.exists or f.spec.path in texts
    ]
    _, diagnostics = compute_spec_set(after, now=now)
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = [d for d in diagnostics if d.severity == "warning"]
    if not errors and (not warnings or proposal.ends_access):
        return Checked(texts, ())
    before_sources = [(f.spec.name, f.spec.encode()) for f in files if f.spec.exists]
    _, before = compute_spec_set(before_sources, now=now)
    if errors:
        if any(d.severity == "error" for d in before):
            message = "the spec set is invalid already, so no edit is made until it is fixed"
            hint = "fix the errors above (`reconciler validate` lists them), then run this again"
        else:
            message = (
                "this edit would make the spec set invalid "
                "(line numbers refer to the files as the edit would leave them)"
            )
            hint = "change the request so that the specs stay valid (see the errors above)"
        raise EditRefused(message, hint=hint, diagnostics=errors)
    edited = {f.spec.name for f in files if f.spec.path in texts}
    known = {(d.file, d.message) for d in before}
    new = tuple(w for w in warnings if w.file in edited and (w.file, w.message) not in known)
    return Checked(texts, new)


def _spliced(edit: FileEdit, parsed: ParsedText | None) -> str:
    """The new text of one file, confirmed to change exactly what was intended."""
    new_text = compute_spliced(edit.spec.text, edit.splices)
    old = _data(parsed or compute_parsed(edit.spec))
    new = _data(compute_parsed(dataclasses.replace(edit.spec, text=new_text)))
    if old is None or new is None:
        return new_text  # the validator says what is wrong with the file
    if new != compute_expected(old, edit.expected):
        raise EditRefused(
            f"{edit.spec.name}: the edit cannot be made without changing other entries too "
            "(YAML anchors, aliases or merge keys share values here)",
            hint="edit this part of the file by hand",
        )
    return new_text


def _data(parsed: ParsedText) -> list[Any] | None:
    if parsed.problem is not None:
        return None
    try:
        return [compute_plain(root) for root in parsed.documents]
    except ValueError:
        return None
