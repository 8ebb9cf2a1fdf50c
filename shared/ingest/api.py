"""What an ingestion route needs: the Ingestor dependency and accurate OpenAPI declarations.

The kit reads the body itself (size cap first, then item-indexed validation), so the request
body schema is declared by hand from the same model.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, TypeAdapter

from shared.http import ErrorBody
from shared.ingest.ingestor import Ingestor


def get_ingestor(request: Request) -> Ingestor:
    """The app's Ingestor, built by create_ingest_app."""
    ingestor: Ingestor = request.app.state.ingestor
    return ingestor


IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]

INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Every item was acknowledged by the broker."},
    413: {"model": ErrorBody, "description": "Body over the size limit, or too many items."},
    415: {"model": ErrorBody, "description": "Content-Type is not application/json."},
    422: {"model": ErrorBody, "description": "Not JSON, or an item is invalid: loc names it."},
    503: {
        "model": ErrorBody,
        "description": "The broker did not acknowledge in time; nothing was accepted.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
    },
}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring a body of one `model` or a non-empty array of them.

    The array's upper bound is a setting (`max_items`), so it is enforced (413), not declared.
    """
    schema = TypeAdapter(model).json_schema()
    inline = _inline_refs(schema, schema.pop("$defs", {}))
    array = {"type": "array", "items": inline, "minItems": 1}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": [inline, array]}}},
        }
    }


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    # Route-level schemas cannot carry $defs in OpenAPI, and our models are not recursive.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node
