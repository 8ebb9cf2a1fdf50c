"""The api's OpenAPI document is accurate: documented parameters and declared error responses."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.tables import ROLLUP_DIMENSIONS


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # No lifespan runs: building the document needs no database.
    return create_app(ApiSettings(), catalog=[]).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, ops["get"]) for path, ops in spec["paths"].items() if path.startswith("/v1/")]


class TestOpenApi:
    def test_every_route_is_documented_with_a_summary_description(
        self, spec: dict[str, Any]
    ) -> None:
        ops = operations(spec)
        assert [p for p, _ in ops] == ["/v1/scores", "/v1/touchpoints", "/v1/feedback"]
        assert all(op.get("description") for _, op in ops)

    def test_every_route_declares_200_422_and_503_with_the_error_body(
        self, spec: dict[str, Any]
    ) -> None:
        for _, op in operations(spec):
            assert {"200", "422", "503"} <= set(op["responses"])
            body = op["responses"]["503"]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorBody"}
            assert "Retry-After" in op["responses"]["503"]["headers"]

    def test_every_parameter_has_a_description(self, spec: dict[str, Any]) -> None:
        undocumented = [
            (path, p["name"])
            for path, op in operations(spec)
            for p in op.get("parameters", [])
            if not p.get("description")
        ]
        assert undocumented == []

    def test_scores_takes_from_to_and_a_filter_per_rollup_dimension(
        self, spec: dict[str, Any]
    ) -> None:
        names = [p["name"] for p in spec["paths"]["/v1/scores"]["get"]["parameters"]]
        assert names == ["from", "to", "granularity", "group_by", *ROLLUP_DIMENSIONS]

    def test_feedback_limit_is_bounded_1_to_500(self, spec: dict[str, Any]) -> None:
        [limit] = [p for p in spec["paths"]["/v1/feedback"]["get"]["parameters"]
                   if p["name"] == "limit"]  # fmt: skip
        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
