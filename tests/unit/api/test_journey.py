"""The journey catalog as `GET /v1/journey` renders it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi import Request

from services.api.app import create_app
from services.api.journey import get_journey, journey_out
from services.api.settings import ApiSettings
from shared.journey import Journey, parse_journey

CATALOG = """
version: 1
stages: [consideration, conversion, loyalty]
touchpoints:
  - {name: website, stage: consideration, team: digital}
  - {name: checkout, stage: conversion, team: ecommerce}
  - {name: brand, stage: loyalty, team: cx}
rules:
  - name: cart_form
    match: {source_kind: survey, metadata: {form_id: cart}}
    touchpoint: checkout
  - {name: web, match: {channel: [web, browser], tags: site}, touchpoint: website}
topic_touchpoints: {pricing: checkout}
default_touchpoint: brand
"""


@pytest.fixture(scope="module")
def journey() -> Journey:
    return parse_journey(CATALOG)


class TestJourneyOut:
    def test_stages_and_touchpoints_keep_catalog_order_as_plain_values(
        self, journey: Journey
    ) -> None:
        out = journey_out(journey).model_dump()
        assert out["version"] == 1
        assert out["stages"] == ["consideration", "conversion", "loyalty"]
        assert [(t["name"], t["stage"], t["team"]) for t in out["touchpoints"]] == [
            ("website", "consideration", "digital"),
            ("checkout", "conversion", "ecommerce"),
            ("brand", "loyalty", "cx"),
        ]

    def test_rules_in_order_with_shorthands_expanded_and_absent_conditions_null(
        self, journey: Journey
    ) -> None:
        rules = journey_out(journey).model_dump()["rules"]
        assert [r["name"] for r in rules] == ["cart_form", "web"]
        assert rules[0] == {
            "name": "cart_form",
            "touchpoint": "checkout",
            "match": {
                "source_kind": ["survey"],
                "source": None,
                "channel": None,
                "tags": None,
                "metadata": {"form_id": ["cart"]},
            },
        }
        assert (rules[1]["match"]["channel"], rules[1]["match"]["tags"]) == (
            ["web", "browser"],
            ["site"],
        )

    def test_topic_mapping_and_default_shorthand(self, journey: Journey) -> None:
        out = journey_out(journey).model_dump()
        assert out["topic_touchpoints"] == {"pricing": "checkout"}
        assert out["default_touchpoint"] == {"overall": "brand", "by_source_kind": {}}
        assert out["resolution_order"] == ["explicit", "rule", "topic", "default"]


class TestGetJourney:
    def test_the_catalog_the_app_holds_is_served(self, journey: Journey) -> None:
        request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(journey=journey)))
        assert get_journey(cast(Request, request), ApiSettings()) is journey


class TestJourneyOpenApi:
    def test_route_documents_the_catalog_schema(self) -> None:
        spec: dict[str, Any] = create_app(ApiSettings(), catalog=[]).openapi()
        op = spec["paths"]["/v1/journey"]["get"]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/JourneyOut"}
        fields = spec["components"]["schemas"]["JourneyOut"]["properties"]
        assert set(fields) == {
            "version", "resolution_order", "stages", "touchpoints", "rules",
            "topic_touchpoints", "default_touchpoint",
        }  # fmt: skip
        assert op.get("description")
