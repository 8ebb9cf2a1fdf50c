"""Body parsing of the ingestion kit: one object or an array, item-indexed errors."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest

from services.surveys.models import SurveyResponse
from shared.errors import PayloadTooLarge
from shared.ingest.api import json_body
from shared.ingest.body import parse_items
from shared.ingest.errors import InvalidPayload

VALID = {"source": "s", "source_id": "1", "occurred_at": "2025-01-01T00:00:00Z", "nps": 9}


def _parse(doc: Any, max_items: int = 10) -> list[SurveyResponse]:
    return parse_items(orjson.dumps(doc), SurveyResponse, max_items).items


def _detail(exc: pytest.ExceptionInfo[InvalidPayload]) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], exc.value.detail)


def _locs(exc: pytest.ExceptionInfo[InvalidPayload]) -> list[list[Any]]:
    return [e["loc"] for e in _detail(exc)]


class TestParseItems:
    def test_single_object_is_one_item(self) -> None:
        parsed = parse_items(orjson.dumps(VALID), SurveyResponse, 10)
        assert [i.nps for i in parsed.items] == [9]
        assert parsed.array is False

    def test_array_keeps_order(self) -> None:
        items = _parse([{**VALID, "source_id": str(n)} for n in range(3)])
        assert [i.source_id for i in items] == ["0", "1", "2"]

    def test_error_loc_names_array_index_and_field(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse([VALID, VALID, VALID, {**VALID, "nps": 11}])
        assert _locs(exc) == [["body", 3, "nps"]]
        assert "less than or equal to 10" in _detail(exc)[0]["msg"]

    def test_single_object_error_loc_has_no_index(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse({k: v for k, v in VALID.items() if k != "occurred_at"})
        assert _locs(exc) == [["body", "occurred_at"]]

    def test_errors_of_several_items_are_all_reported(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse([{**VALID, "csat": 0}, VALID, {**VALID, "nps_score": 3}])
        assert _locs(exc) == [["body", 0, "csat"], ["body", 2, "nps_score"]]

    def test_empty_array_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload, match="empty"):
            _parse([])

    def test_more_items_than_allowed_is_too_large(self) -> None:
        with pytest.raises(PayloadTooLarge, match="at most 2"):
            _parse([VALID] * 3, max_items=2)

    def test_non_json_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            parse_items(b"nps=9", SurveyResponse, 10)
        assert _detail(exc)[0]["type"] == "json_invalid"

    def test_json_scalar_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload, match="object or an array"):
            _parse(42)

    def test_array_of_non_objects_names_the_element(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse([VALID, "oops"])
        assert _locs(exc) == [["body", 1]]

    def test_control_character_in_source_id_is_invalid(self) -> None:
        with pytest.raises(InvalidPayload) as exc:
            _parse({**VALID, "source_id": "a\x1fb"})
        assert _locs(exc) == [["body", "source_id"]]


class TestJsonBodySchema:
    def test_declares_object_or_non_empty_array_without_dangling_refs(self) -> None:
        schema = json_body(SurveyResponse)["requestBody"]["content"]["application/json"]["schema"]
        single, array = schema["oneOf"]
        assert "nps" in single["properties"]
        assert array["items"] == single and array["minItems"] == 1
        assert b"$ref" not in orjson.dumps(schema)
