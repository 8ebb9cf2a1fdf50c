"""Each ingestion route documents its body and every status it can answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from services.reviews.app import create_app as create_reviews
from services.reviews.settings import ReviewsSettings
from services.social.app import create_app as create_social
from services.social.settings import SocialSettings
from services.surveys.app import create_app as create_surveys
from services.surveys.settings import SurveysSettings
from services.tickets.app import create_app as create_tickets
from services.tickets.settings import TicketsSettings

APPS: list[tuple[str, Any, Any, int]] = [
    ("/v1/responses", create_surveys, SurveysSettings, 8001),
    ("/v1/tickets", create_tickets, TicketsSettings, 8002),
    ("/v1/reviews", create_reviews, ReviewsSettings, 8003),
    ("/v1/posts", create_social, SocialSettings, 8004),
]


class TestIngestOpenApi:
    @pytest.mark.parametrize(("path", "create_app", "settings_cls", "port"), APPS)
    def test_route_declares_body_and_statuses(
        self, path: str, create_app: Any, settings_cls: Any, port: int
    ) -> None:
        app: FastAPI = create_app(settings_cls())
        operation = app.openapi()["paths"][path]["post"]
        assert set(operation["responses"]) >= {"202", "413", "415", "422", "503"}
        assert "Retry-After" in operation["responses"]["503"]["headers"]
        assert operation["requestBody"]["required"] is True
        assert operation["description"]


class TestIngestSettings:
    @pytest.mark.parametrize(("path", "create_app", "settings_cls", "port"), APPS)
    def test_defaults_give_each_service_its_own_port_and_name(
        self, path: str, create_app: Any, settings_cls: Any, port: int
    ) -> None:
        settings = settings_cls()
        assert settings.http.port == port
        assert settings.max_body_bytes == 5 * 1024 * 1024
        assert (settings.max_items, settings.publish_timeout_s) == (1000, 1.5)

    def test_env_prefix_and_nested_blocks_are_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TICKETS_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092")
        monkeypatch.setenv("TICKETS_MAX_ITEMS", "10")
        monkeypatch.setenv("SURVEYS_MAX_ITEMS", "20")
        settings = TicketsSettings()
        assert (settings.kafka.bootstrap_servers, settings.max_items) == ("kafka:9092", 10)
