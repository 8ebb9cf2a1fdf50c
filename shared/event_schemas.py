"""JSON Schema of each event class, as a consumer reads it: the contract for third-party producers.

Generated in pydantic's *validation* mode with additional properties allowed; the reasons are in
`shared.schema_export`, which writes these to `schemas/`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from shared.events import EnrichedFeedbackEvent, Envelope, FetchPendingEvent, RawFeedbackEvent

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EVENTS: tuple[type[Envelope], ...] = (  # type: ignore[type-arg]
    RawFeedbackEvent,
    EnrichedFeedbackEvent,
    FetchPendingEvent,
)


def schema_file(event: type[Envelope]) -> str:  # type: ignore[type-arg]
    """`RawFeedbackEvent` (VERSION 1) -> `raw-feedback-event.v1.schema.json`."""
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", event.__name__).lower()
    return f"{kebab}.v{event.VERSION}.schema.json"


class ConsumedJsonSchema(GenerateJsonSchema):
    """Models as Envelope.model_validate_json reads them: unknown properties are ignored."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        if out.get("additionalProperties") is False:
            out["additionalProperties"] = True
        return out


def json_schema(event: type[Envelope]) -> dict[str, Any]:  # type: ignore[type-arg]
    schema = event.model_json_schema(mode="validation", schema_generator=ConsumedJsonSchema)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$comment"] = (
        f"Generated from shared.events.{event.__name__} by `python -m shared.schema_export`; "
        "do not edit."
    )
    return schema
