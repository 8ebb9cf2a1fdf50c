"""Reading a request body safely: media type, size cap, JSON, one object or an array of them."""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from shared.errors import PayloadTooLarge
from shared.ingest.errors import InvalidPayload, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

MAX_ERRORS = 50


def check_json_media_type(request: Request) -> None:
    """Accept `application/json` and `application/*+json` (any parameters); else 415."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType("expected Content-Type: application/json")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing more than `max_bytes` (413) before buffering it whole.

    Content-Length is only a hint: a missing or understated one is caught while streaming.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"body is over the limit of {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"body is over the limit of {max_bytes} bytes")
    return bytes(body)


def error_entry(loc: list[Any], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def validation_errors(prefix: list[Any], exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as `{loc, msg, type}` with `prefix` (e.g. ["body", 3]) in front of loc."""
    return [
        error_entry([*prefix, *e["loc"]], e["msg"], e["type"])
        for e in exc.errors(include_url=False, include_input=False)
    ]


class Parsed(NamedTuple, Generic[M]):
    items: list[M]
    array: bool  # the body was an array (error locs then carry the index)

    def loc(self, index: int) -> list[Any]:
        return ["body", index] if self.array else ["body"]


def parse_items(body: bytes, model: type[M], max_items: int) -> Parsed[M]:
    """Validate `body` as one `model` object or a JSON array of 1..`max_items` of them.

    Errors carry the item's index in `loc` (`["body", 3, "nps"]`; `["body", "nps"]` for a
    single object); the whole request is rejected if any item is invalid.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload(
            [error_entry(["body"], f"invalid JSON: {exc}", "json_invalid")]
        ) from exc
    if isinstance(doc, dict):
        return Parsed([_validate(model, doc, ["body"])], array=False)
    if not isinstance(doc, list):
        raise InvalidPayload(
            [error_entry(["body"], "expected a JSON object or an array of objects", "type_error")]
        )
    if not doc:
        raise InvalidPayload([error_entry(["body"], "array must not be empty", "too_short")])
    if len(doc) > max_items:
        raise PayloadTooLarge(f"at most {max_items} items per request, got {len(doc)}")
    items: list[M] = []
    errors: list[dict[str, Any]] = []
    for index, obj in enumerate(doc):
        try:
            items.append(model.model_validate(obj))
        except ValidationError as exc:
            errors.extend(validation_errors(["body", index], exc))
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise InvalidPayload(errors[:MAX_ERRORS])
    return Parsed(items, array=True)


def _validate(model: type[M], obj: Any, prefix: list[Any]) -> M:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InvalidPayload(validation_errors(prefix, exc)) from exc
