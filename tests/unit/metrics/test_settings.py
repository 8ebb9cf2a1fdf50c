from __future__ import annotations

import pytest

from services.metrics.settings import MetricsSettings
from shared.events import EnrichedFeedbackEvent


class TestMetricsSettings:
    def test_defaults_consume_the_enriched_topic_as_group_metrics_on_port_9102(self) -> None:
        s = MetricsSettings()
        assert (s.group_id, s.topics, s.http.port) == (
            "metrics",
            EnrichedFeedbackEvent.topics(),
            9102,
        )

    def test_nested_env_overrides_keep_the_other_defaults(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("METRICS_HTTP__HOST", "0.0.0.0")
        monkeypatch.setenv("METRICS_DATABASE__URL", "postgresql://x@db/voc")
        monkeypatch.setenv("METRICS_TOPICS", '["a", "b"]')
        s = MetricsSettings()
        assert (s.http.host, s.http.port) == ("0.0.0.0", 9102)
        assert s.database.url == "postgresql://x@db/voc"
        assert s.topics == ["a", "b"]

    def test_deployment_wide_database_url_is_the_fallback(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("METRICS_DATABASE__URL", raising=False)
        monkeypatch.setenv("VOC_DATABASE_URL", "postgresql://y@db/voc")
        assert MetricsSettings().database.url == "postgresql://y@db/voc"
