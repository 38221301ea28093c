"""The spec language: YAML files saying who may read which directory until when.

Specs declare ``collections`` (guest collections and the root each owns, with a
policy), ``groups``, ``distributions`` (named sets of grants) and ``memberships``, in
any number of files; names are global across files. ``load_spec_set`` reads them and
returns the lowered ``reconciler.core.intent.Intent`` (or ``None`` when anything is
wrong) with located diagnostics; ``compute_json_schema`` describes one file for
editors. The language is documented in ``docs/spec-language.md``.

Modules, in the order a load runs them: ``finding`` (which files, failing closed on
what cannot be seen), ``yamlread`` (YAML with positions), ``validating`` (one document
against ``models``, whose value types live in ``fields``, ``texts`` and ``timeparse``),
``indexing`` (names across files), ``checking`` (cross-file rules), ``lowering`` (to
intent values), ``conflicts`` (repeated grants), ``expiring`` (the checks that depend on
now); ``compiling`` chains these pure steps and ``loading`` runs them on files, with
``caching`` (``SpecCache``) keeping results between the loads of a long-running process.
``schema`` renders the JSON Schema. Only ``finding`` and ``loading`` touch the disk;
nothing here talks to Globus.
"""

from reconciler.spec.caching import SpecCache
from reconciler.spec.diagnostics import Diagnostic, Severity
from reconciler.spec.finding import DEFAULT_MAX_FILE_SIZE, OS_FILES, SpecFiles
from reconciler.spec.loading import LoadOptions, LoadResult, compute_spec_set, load_spec_set
from reconciler.spec.schema import compute_json_schema

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "OS_FILES",
    "Diagnostic",
    "LoadOptions",
    "LoadResult",
    "Severity",
    "SpecCache",
    "SpecFiles",
    "compute_json_schema",
    "compute_spec_set",
    "load_spec_set",
]
