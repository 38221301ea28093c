"""The JSON Schema of one spec file, for editors and for ``reconciler schema``.

Generated from the pydantic models, so the schema and the validator cannot drift apart;
``specs/reconciler.schema.json`` is this function's output, and a test keeps it so. The
schema is a guide for editors: it checks keys, types and formats of one file, while
``reconciler validate`` also checks names, references, policies and conflicts across
files. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from reconciler.spec.models import SpecFile

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Generator(GenerateJsonSchema):
    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # `key: null` means "not given" to the validator, but an editor should not
        # suggest it: offer only the real type.
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default", ...) is None:  # absent means "not given", not null
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def compute_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that one spec file (or YAML document) satisfies."""
    schema = SpecFile.model_json_schema(schema_generator=_Generator)
    for section in ("collections", "groups"):
        # Names that break the pattern are errors, not entries of another kind.
        schema["properties"][section]["additionalProperties"] = False
    return {"$schema": DIALECT, **schema}
