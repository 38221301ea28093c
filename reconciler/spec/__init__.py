"""The spec language: YAML files saying who may read which directory until when.

Specs declare ``collections`` (guest collections and the root each owns, with a
policy), ``groups``, ``distributions`` (named sets of grants) and ``memberships``, in
any number of files; names are global across files. ``load_spec_set`` reads them and
returns the lowered ``reconciler.core.intent.Intent`` (or ``None`` when anything is
wrong) with located diagnostics; ``compute_json_schema`` describes one file for
editors. The language is documented in ``docs/spec-language.md``.

Modules, in the order a load runs them: ``yamlread`` (YAML with positions),
``validating`` (one document against ``models``, whose value types live in ``fields``
and ``timeparse``), ``indexing`` (names across files), ``checking`` (cross-file rules),
``lowering`` (to intent values), ``conflicts`` (repeated grants), ``loading`` (files and
orchestration). ``schema`` renders the JSON Schema. Only ``loading`` touches the disk;
nothing here talks to Globus.
"""

from reconciler.spec.diagnostics import Diagnostic, Severity
from reconciler.spec.loading import LoadResult, compute_spec_set, load_spec_set
from reconciler.spec.schema import compute_json_schema

__all__ = [
    "Diagnostic",
    "LoadResult",
    "Severity",
    "compute_json_schema",
    "compute_spec_set",
    "load_spec_set",
]
