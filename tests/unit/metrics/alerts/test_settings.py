"""METRICS_ALERTS__* settings: defaults, env parsing, and clear errors for bad values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.metrics.settings import AlertSettings, MetricsSettings


def error_of(**values: Any) -> str:
    with pytest.raises(ValidationError) as info:
        AlertSettings.model_validate(values)
    return str(info.value)


class TestAlertSettings:
    def test_defaults(self) -> None:
        s = MetricsSettings().alerts
        assert s.enabled and s.interval_s == 60
        assert (s.window, s.baseline) == (timedelta(hours=24), timedelta(days=28))
        assert s.metrics == ["nps", "csat", "ces", "sentiment"]
        assert (s.level, s.stay_level, s.min_n) == (0.95, 0.95, 30)
        assert s.webhooks == {}

    def test_from_env_with_webhooks_as_json(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(
            "METRICS_ALERTS__WEBHOOKS",
            '{"growth": {"url": "https://hooks.example.com/voc", "secret": "0123456789abcdef"}}',
        )
        monkeypatch.setenv("METRICS_ALERTS__WINDOW", "6h")
        monkeypatch.setenv("METRICS_ALERTS__BASELINE", "P14D")
        monkeypatch.setenv("METRICS_ALERTS__METRICS", '["nps", "stars"]')
        monkeypatch.setenv("METRICS_ALERTS__RESOLVE_LEVEL", "0.8")
        s = MetricsSettings().alerts
        assert str(s.webhooks["growth"].url) == "https://hooks.example.com/voc"
        assert s.webhooks["growth"].secret.get_secret_value() == "0123456789abcdef"
        assert (s.window, s.baseline) == (timedelta(hours=6), timedelta(days=14))
        assert s.metrics == ["nps", "stars"]
        assert s.stay_level == 0.8

    def test_the_secret_never_shows_in_repr(self) -> None:
        s = AlertSettings.model_validate(
            {"webhooks": {"t": {"url": "https://x.example", "secret": "topsecret-0123456789"}}}
        )
        assert "topsecret" not in repr(s)

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"window": "90m"}, "whole number of hours"),
            ({"baseline": "0"}, "whole number of hours"),
            ({"metrics": ["enps"]}, "'nps', 'csat', 'ces', 'stars' or 'sentiment'"),
            ({"metrics": []}, "at least 1 item"),
            ({"level": 1.5}, "less than 1"),
            ({"resolve_level": 0.99}, "must not exceed level"),
            ({"min_n": 1}, "greater than or equal to 2"),
            ({"webhooks": {"t": {"url": "ftp://x", "secret": "0123456789abcdef"}}}, "URL scheme"),
            ({"webhooks": {"t": {"url": "https://x.example", "secret": "short"}}}, "16 char"),
            ({"webhooks": {"t": {"url": "https://x.example"}}}, "secret"),
            ({"backoff_base_s": 10, "backoff_max_s": 5}, "backoff_max_s"),
        ],
    )
    def test_bad_values_are_refused_saying_why(self, values: dict[str, Any], message: str) -> None:
        assert message in error_of(**values)
