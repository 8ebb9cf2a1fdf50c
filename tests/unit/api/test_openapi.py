"""The api's OpenAPI document is accurate: documented parameters and declared error responses."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.app import create_app
from services.api.export import FEEDBACK_COLUMNS, score_columns
from services.api.keys import FEEDBACK_READ, SCOPES, SCORES_READ
from services.api.settings import ApiSettings
from shared.tables import ROLLUP_DIMENSIONS


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # No lifespan runs: building the document needs no database.
    return create_app(ApiSettings(), catalog=[]).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, ops["get"]) for path, ops in spec["paths"].items() if path.startswith("/v1/")]


def undescribed(schema: dict[str, Any], where: str) -> list[str]:
    """Every property under `schema` without a description, inline sub-schemas included (array
    items, map values, anyOf branches); a `$ref` is checked where its component is walked."""
    missing: list[str] = []
    for name, sub in schema.get("properties", {}).items():
        if not sub.get("description"):
            missing.append(f"{where}.{name}")
        missing += undescribed(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            missing += undescribed(schema[key], f"{where}[]")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            missing += undescribed(sub, where)
    return missing


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


class TestOpenApi:
    def test_every_route_is_documented_with_a_summary_description(
        self, spec: dict[str, Any]
    ) -> None:
        ops = operations(spec)
        assert [p for p, _ in ops] == [
            "/v1/scores", "/v1/scores/compare", "/v1/drivers", "/v1/touchpoints", "/v1/journey",
            "/v1/feedback", "/v1/alerts",
        ]  # fmt: skip
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

    def test_scores_takes_window_buckets_paging_format_and_a_filter_per_dimension(
        self, spec: dict[str, Any]
    ) -> None:
        names = [p["name"] for p in spec["paths"]["/v1/scores"]["get"]["parameters"]]
        assert sorted(names) == sorted([
            "from", "to", "granularity", "group_by", *ROLLUP_DIMENSIONS, "topic", "tz", "limit",
            "cursor", "format",
        ])  # fmt: skip

    def test_compare_takes_metric_both_windows_level_groups_filters_and_tz(
        self, spec: dict[str, Any]
    ) -> None:
        names = [p["name"] for p in spec["paths"]["/v1/scores/compare"]["get"]["parameters"]]
        assert sorted(names) == sorted([
            "metric", "current_from", "current_to", "previous_from", "previous_to", "level",
            "group_by", *ROLLUP_DIMENSIONS, "topic", "tz",
        ])  # fmt: skip

    def test_drivers_takes_metric_window_level_the_topic_slice_filters_and_tz(
        self, spec: dict[str, Any]
    ) -> None:
        op = spec["paths"]["/v1/drivers"]["get"]
        names = [p["name"] for p in op["parameters"]]
        assert sorted(names) == sorted([
            "metric", "from", "to", "level", "touchpoint", "journey_stage", "channel", "tz",
        ])  # fmt: skip
        [metric] = [p for p in op["parameters"] if p["name"] == "metric"]
        assert metric["required"] is True
        assert metric["schema"]["enum"] == ["nps", "csat", "ces", "stars", "sentiment"]

    def test_every_drivers_response_field_is_described(self, spec: dict[str, Any]) -> None:
        schemas = spec["components"]["schemas"]
        for name in ("DriversPage", "DriverItem", "DriverSide"):
            props = schemas[name]["properties"]
            undocumented = [k for k, v in props.items() if not v.get("description")]
            assert undocumented == [], name
        assert "from" in schemas["DriversPage"]["properties"]
        assert "several topics" in schemas["DriverItem"]["properties"]["share"]["description"]

    def test_every_property_of_every_schema_is_described(self, spec: dict[str, Any]) -> None:
        schemas = spec["components"]["schemas"]
        missing = [m for name, schema in schemas.items() for m in undescribed(schema, name)]
        inline = [
            (path, status)
            for path, op in operations(spec)
            for status, response in op["responses"].items()
            for media in response.get("content", {}).values()
            if undescribed(media.get("schema", {}), f"{path} {status}")
        ]
        assert (missing, inline) == ([], [])

    def test_every_referenced_schema_is_a_component_the_walk_covers(
        self, spec: dict[str, Any]
    ) -> None:
        prefix = "#/components/schemas/"
        targets = refs(spec)
        assert targets and all(t.startswith(prefix) for t in targets)
        assert {t.removeprefix(prefix) for t in targets} <= set(spec["components"]["schemas"])

    def test_a_model_typed_field_carries_its_description_beside_the_ref(
        self, spec: dict[str, Any]
    ) -> None:
        schemas = spec["components"]["schemas"]
        at_open = schemas["AlertItem"]["properties"]["at_open"]
        assert at_open["$ref"] == "#/components/schemas/AlertFigures" and at_open["description"]
        sentiment = schemas["FeedbackItem"]["properties"]["sentiment"]
        assert {"type": "null"} in sentiment["anyOf"] and sentiment["description"]

    def test_the_walk_finds_an_undescribed_property_however_deeply_nested(self) -> None:
        schema = {
            "properties": {
                "ok": {"type": "integer", "description": "Counted."},
                "bare": {"type": "integer"},
                "rows": {
                    "description": "Rows.",
                    "type": "array",
                    "items": {"properties": {"x": {"type": "number"}}},
                },
                "maybe": {
                    "description": "Either.",
                    "anyOf": [{"properties": {"y": {"type": "string"}}}, {"type": "null"}],
                },
                "by_key": {
                    "description": "Map.",
                    "additionalProperties": {"properties": {"z": {"type": "string"}}},
                },
            }
        }
        assert undescribed(schema, "S") == ["S.bare", "S.rows[].x", "S.maybe.y", "S.by_key[].z"]

    def test_group_by_documents_that_a_fact_counts_in_each_of_its_topics(
        self, spec: dict[str, Any]
    ) -> None:
        [group_by] = [p for p in spec["paths"]["/v1/scores"]["get"]["parameters"]
                      if p["name"] == "group_by"]  # fmt: skip
        assert "topic" in group_by["description"]
        assert "counts in the group of each" in group_by["description"]

    def test_feedback_order_is_newest_by_default_or_most_negative(
        self, spec: dict[str, Any]
    ) -> None:
        [order] = [p for p in spec["paths"]["/v1/feedback"]["get"]["parameters"]
                   if p["name"] == "order"]  # fmt: skip
        assert order["schema"]["enum"] == ["newest", "most_negative"]
        assert order["schema"]["default"] == "newest" and order["description"]

    def test_feedback_limit_documents_both_formats_bounds(self, spec: dict[str, Any]) -> None:
        [limit] = [p for p in spec["paths"]["/v1/feedback"]["get"]["parameters"]
                   if p["name"] == "limit"]  # fmt: skip
        assert (
            "at most 500" in limit["description"] and "API_EXPORT_MAX_ROWS" in limit["description"]
        )

    @pytest.mark.parametrize("path", ["/v1/scores", "/v1/feedback"])
    def test_exports_document_text_csv_with_columns_and_next_page_headers(
        self, spec: dict[str, Any], path: str
    ) -> None:
        ok = spec["paths"][path]["get"]["responses"]["200"]
        assert set(ok["content"]) == {"application/json", "text/csv"}
        assert {"Link", "X-Next-Cursor"} <= set(ok["headers"])
        columns = score_columns(()) if path == "/v1/scores" else FEEDBACK_COLUMNS
        assert all(f"`{c}`" in ok["description"] for c in columns)

    def test_no_parameter_is_a_header_openapi_ignores(self, spec: dict[str, Any]) -> None:
        ignored = {"accept", "content-type", "authorization"}
        assert not [
            (path, p["name"])
            for path, op in operations(spec)
            for p in op.get("parameters", [])
            if p["in"] == "header" and p["name"].lower() in ignored
        ]


class TestOpenApiSecurity:
    def test_the_bearer_api_key_scheme_is_declared(self, spec: dict[str, Any]) -> None:
        scheme = spec["components"]["securitySchemes"]["ApiKey"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
        assert all(scope in scheme["description"] for scope in SCOPES)

    def test_every_v1_route_requires_one_scope_and_verbatims_their_own(
        self, spec: dict[str, Any]
    ) -> None:
        required = {path: op["security"] for path, op in operations(spec)}
        assert required.pop("/v1/feedback") == [{"ApiKey": [FEEDBACK_READ]}]
        assert required and all(sec == [{"ApiKey": [SCORES_READ]}] for sec in required.values())

    def test_every_v1_route_declares_401_and_403_with_the_error_body_and_challenge(
        self, spec: dict[str, Any]
    ) -> None:
        for path, op in operations(spec):
            for status in ("401", "403"):
                response = op["responses"][status]
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
                assert "WWW-Authenticate" in response["headers"], (path, status)

    @pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
    def test_ops_routes_need_no_key(self, spec: dict[str, Any], path: str) -> None:
        op = spec["paths"][path]["get"]
        assert "security" not in op and "401" not in op["responses"]
