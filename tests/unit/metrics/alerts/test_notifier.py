"""Webhook signing, payload, backoff and the retry decision, without a network."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.metrics.alerts.notifier import (
    backoff_s,
    build_payload,
    encode_body,
    judge,
    retry_after_s,
    sign,
)
from services.metrics.settings import AlertSettings

SETTINGS = AlertSettings(max_attempts=5, backoff_base_s=2, backoff_max_s=20)
OPENED = datetime(2026, 11, 20, 12, tzinfo=UTC)


class TestSignature:
    def test_is_hmac_sha256_of_timestamp_dot_body(self) -> None:
        body = b'{"event":"opened"}'
        want = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
        assert sign("k" * 16, body, 1_700_000_000) == f"t=1700000000,v1={want}"

    def test_changes_with_the_body_and_the_time(self) -> None:
        base = sign("k" * 16, b"a", 1)
        assert base != sign("k" * 16, b"b", 1)
        assert base != sign("k" * 16, b"a", 2)


class TestPayload:
    def test_carries_event_alert_touchpoint_team_and_links(self) -> None:
        alert = {
            "id": uuid.UUID(int=7), "touchpoint": "checkout", "metric": "nps",
            "team": "ecommerce", "status": "open", "difference": -12.5,
            "window_start": OPENED - timedelta(hours=24), "window_end": OPENED,
            "baseline_start": OPENED - timedelta(days=29),
            "baseline_end": OPENED - timedelta(hours=24), "opened_at": OPENED,
        }  # fmt: skip
        payload = build_payload("opened", alert, "conversion", "https://api.example.com/")
        body = json.loads(encode_body(payload))
        assert body["event"] == "opened"
        assert body["team"] == "ecommerce"
        assert body["touchpoint"] == {"name": "checkout", "journey_stage": "conversion"}
        assert body["alert"]["id"] == str(uuid.UUID(int=7))
        assert body["alert"]["opened_at"] == "2026-11-20T12:00:00+00:00"
        assert body["alert"]["difference"] == -12.5
        assert body["links"]["alerts"] == (
            "https://api.example.com/v1/alerts?touchpoint=checkout&metric=nps&status=all"
        )
        assert body["links"]["compare"].startswith(
            "https://api.example.com/v1/scores/compare?touchpoint=checkout&metric=nps"
            "&current_from=2026-11-19T12%3A00%3A00%2B00%3A00"
        )

    def test_body_bytes_are_stable(self) -> None:
        assert encode_body({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'


class TestRetry:
    @pytest.mark.parametrize(("made", "delay"), [(1, 2), (2, 4), (3, 8), (4, 16), (5, 20)])
    def test_backoff_doubles_up_to_the_most(self, made: int, delay: float) -> None:
        assert backoff_s(made, SETTINGS) == delay

    def test_retry_after_in_seconds_or_as_a_date(self) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        later = format_datetime(now + timedelta(seconds=90), usegmt=True)
        assert retry_after_s("120", now.timestamp()) == 120
        assert retry_after_s(later, now.timestamp()) == pytest.approx(90)
        assert retry_after_s("soon", now.timestamp()) is None
        assert retry_after_s(None, now.timestamp()) is None

    @pytest.mark.parametrize(
        ("status", "made", "outcome", "delay"),
        [
            (200, 1, "sent", None),
            (204, 3, "sent", None),
            (503, 1, "retried", 2),
            (500, 2, "retried", 4),
            (429, 1, "retried", 2),
            (None, 1, "retried", 2),  # network error
            (503, 5, "failed", None),  # max_attempts reached
            (400, 1, "failed", None),
            (404, 1, "failed", None),
            (301, 1, "failed", None),
        ],
    )
    def test_judge(self, status: int | None, made: int, outcome: str, delay: float | None) -> None:
        attempt = judge(status, None if status else "ConnectError", None, made, SETTINGS)
        assert (attempt.outcome, attempt.retry_in_s) == (outcome, delay)

    def test_retry_after_wins_over_backoff_but_not_over_the_most(self) -> None:
        assert judge(429, None, 7, 1, SETTINGS).retry_in_s == 7
        assert judge(503, None, 3600, 1, SETTINGS).retry_in_s == 20
