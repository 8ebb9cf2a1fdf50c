"""Invalid requests get the right status and a detail naming what is wrong; nothing is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.integration.ingest.conftest import MAX_BODY_BYTES, MAX_ITEMS, Service


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["detail"]]


async def _rejected(service: Service, reason: str) -> float:
    text = (await service.client.get("/metrics")).text
    prefix = f'voc_{service.spec.name}_requests_rejected_total{{reason="{reason}"}} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


class TestReject:
    async def test_missing_required_field_is_named(self, service: Service, unique: str) -> None:
        item = service.spec.item(f"x-{unique}")
        del item[service.spec.required]
        before = await _rejected(service, "validation")

        response = await service.post(item)

        assert response.status_code == 422
        assert response.json()["error"] == "validation_error"
        assert _locs(response) == [["body", service.spec.required]]
        assert response.json()["detail"][0]["type"] == "missing"
        assert await _rejected(service, "validation") == before + 1

    async def test_out_of_range_score_names_array_index_and_field(
        self, service: Service, unique: str
    ) -> None:
        field, value = service.spec.out_of_range
        items = [service.spec.item(f"r-{unique}-{n}") for n in range(3)]
        items[2][field] = value

        response = await service.post(items)

        assert response.status_code == 422
        assert _locs(response) == [["body", 2, field]]
        assert response.json()["detail"][0]["msg"]

    async def test_wrong_type_is_named(self, service: Service, unique: str) -> None:
        field, value = service.spec.wrong_type
        response = await service.post(service.spec.item(f"t-{unique}", **{field: value}))

        assert response.status_code == 422
        assert all(loc[:2] == ["body", field] for loc in _locs(response)), _locs(response)

    async def test_unknown_field_is_rejected_by_name(self, service: Service, unique: str) -> None:
        item = {**service.spec.item(f"u-{unique}"), service.spec.typo: 1}
        response = await service.post(item)

        assert response.status_code == 422
        assert _locs(response) == [["body", service.spec.typo]]
        assert response.json()["detail"][0]["type"] == "extra_forbidden"

    async def test_non_json_body_is_422(self, service: Service) -> None:
        response = await service.client.post(
            service.spec.path, content=b"{not json", headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body"]
        assert response.json()["detail"][0]["type"] == "json_invalid"

    async def test_empty_array_is_422(self, service: Service) -> None:
        response = await service.post([])

        assert response.status_code == 422
        assert "empty" in response.json()["detail"][0]["msg"]

    async def test_more_items_than_allowed_is_413(self, service: Service, unique: str) -> None:
        before = await _rejected(service, "too_large")
        items = [service.spec.item(f"n-{unique}-{n}") for n in range(MAX_ITEMS + 1)]

        response = await service.post(items)

        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
        assert str(MAX_ITEMS) in response.json()["detail"]
        assert await _rejected(service, "too_large") == before + 1

    async def test_body_over_limit_is_413(self, service: Service, unique: str) -> None:
        item = service.spec.item(f"b-{unique}", metadata={"pad": "x" * MAX_BODY_BYTES})

        response = await service.post(item)

        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"

    async def test_body_over_limit_without_content_length_is_413(self, service: Service) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(MAX_BODY_BYTES // 1024 + 2):
                yield b" " * 1024

        response = await service.client.post(
            service.spec.path, content=chunks(), headers={"Content-Type": "application/json"}
        )

        assert response.request.headers.get("content-length") is None
        assert response.status_code == 413

    async def test_body_over_limit_with_understated_content_length_is_413(
        self, service: Service, unique: str
    ) -> None:
        item = service.spec.item(f"l-{unique}", metadata={"pad": "x" * MAX_BODY_BYTES})
        content = httpx.Request("POST", "/", json=item).content

        response = await service.client.post(
            service.spec.path,
            content=content,
            headers={"Content-Type": "application/json", "Content-Length": "100"},
        )

        assert response.status_code == 413

    async def test_wrong_content_type_is_415(self, service: Service, unique: str) -> None:
        before = await _rejected(service, "unsupported_media_type")
        response = await service.client.post(
            service.spec.path,
            content=b"source=test",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

        assert response.status_code == 415
        assert response.json()["error"] == "unsupported_media_type"
        assert await _rejected(service, "unsupported_media_type") == before + 1

    async def test_json_with_charset_and_vendor_type_is_accepted(
        self, service: Service, unique: str
    ) -> None:
        for n, media in enumerate(["application/json; charset=utf-8", "application/cloud+json"]):
            content = httpx.Request("POST", "/", json=service.spec.item(f"c-{unique}-{n}")).content
            response = await service.client.post(
                service.spec.path, content=content, headers={"Content-Type": media}
            )
            assert response.status_code == 202, (media, response.text)
            service.broker.published[service.spec.topic] += 1
