"""`GET /v1/journey` through the running app: the configured catalog, as the file declares it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.api.app import create_app
from services.api.settings import ApiSettings

CUSTOM = """
version: 1
stages: [conversion, retention]
touchpoints:
  - {name: checkout, stage: conversion, team: ecommerce}
  - {name: delivery, stage: retention, team: logistics}
rules:
  - {name: courier_tags, match: {tags: courier, source: zendesk}, touchpoint: delivery}
topic_touchpoints: {pricing: checkout}
default_touchpoint: {overall: checkout, by_source_kind: {ticket: delivery}}
"""


@pytest.fixture
async def custom_client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "journey.yaml"
    path.write_text(CUSTOM, encoding="utf-8")
    # model_validate: `auth` is ignored by an ApiSettings without API keys, honoured with them.
    settings = ApiSettings.model_validate(
        {"database": {"url": database_url}, "journey_file": str(path), "auth": {"enabled": False}}
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c,
    ):
        yield c


class TestJourneyRoute:
    async def test_packaged_catalog_is_served_as_the_file_declares_it(
        self, client: httpx.AsyncClient
    ) -> None:
        raw: dict[str, Any] = yaml.safe_load(
            resources.files("shared").joinpath("journey.yaml").read_text(encoding="utf-8")
        )
        resp = await client.get("/v1/journey")
        assert resp.status_code == 200
        body = resp.json()
        assert (body["version"], body["stages"]) == (raw["version"], raw["stages"])
        assert body["touchpoints"] == raw["touchpoints"]
        assert [(r["name"], r["touchpoint"]) for r in body["rules"]] == [
            (r["name"], r["touchpoint"]) for r in raw["rules"]
        ]
        assert body["topic_touchpoints"] == raw["topic_touchpoints"]
        assert body["default_touchpoint"] == raw["default_touchpoint"]

    async def test_catalog_agrees_with_the_touchpoints_route(
        self, client: httpx.AsyncClient
    ) -> None:
        journey = (await client.get("/v1/journey")).json()
        listed = (await client.get("/v1/touchpoints")).json()["items"]
        catalogued = {(t["touchpoint"], t["journey_stage"], t["team"]) for t in listed}
        assert {(t["name"], t["stage"], t["team"]) for t in journey["touchpoints"]} <= catalogued

    async def test_configured_journey_file_is_served(
        self, custom_client: httpx.AsyncClient
    ) -> None:
        body = (await custom_client.get("/v1/journey")).json()
        assert body["stages"] == ["conversion", "retention"]
        assert [t["name"] for t in body["touchpoints"]] == ["checkout", "delivery"]
        assert body["rules"] == [
            {
                "name": "courier_tags",
                "touchpoint": "delivery",
                "match": {
                    "source_kind": None,
                    "source": ["zendesk"],
                    "channel": None,
                    "tags": ["courier"],
                    "metadata": None,
                },
            }
        ]
        assert body["default_touchpoint"] == {
            "overall": "checkout",
            "by_source_kind": {"ticket": "delivery"},
        }
