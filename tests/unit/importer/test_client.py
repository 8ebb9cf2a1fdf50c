"""The ingestion client's verdicts and retries, against an in-memory HTTP endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from services.importer.client import (
    Accepted,
    IngestClient,
    Invalid,
    TooLarge,
    reasons_by_index,
    retry_after,
)
from services.importer.errors import ServiceError
from services.importer.settings import RetrySettings

Handler = Callable[[httpx.Request], httpx.Response]
RETRY = RetrySettings(max_attempts=4, backoff_initial_s=0.5, backoff_max_s=2.0)


class Endpoint:
    """Answers requests from a script of responses, recording what was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.bodies: list[bytes] = []
        self.request_ids: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        self.request_ids.append(request.headers.get("x-request-id"))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(endpoint: Endpoint, slept: list[float]) -> IngestClient:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint), base_url="http://svc")
    return IngestClient(
        http, "/v1/tickets", RETRY, request_id="import-t", sleep=sleep, jitter=lambda: 1.0
    )


def _error(status: int, code: str, detail: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "detail": detail}, headers=headers)


ACCEPTED = httpx.Response(202, json={"accepted": 2, "event_ids": ["e1", "e2"]})


class TestIngestClient:
    async def test_items_go_as_one_json_array_with_the_run_id(self) -> None:
        endpoint = Endpoint(ACCEPTED)
        slept: list[float] = []
        client = _client(endpoint, slept)

        outcome = await client.send([b'{"a":1}', b'{"b":2}'])

        assert outcome == Accepted(["e1", "e2"])
        assert endpoint.bodies == [b'[{"a":1},{"b":2}]']
        assert endpoint.request_ids == ["import-t"]
        assert slept == [] and client.retries == 0

    async def test_broker_unavailable_is_retried_after_the_servers_retry_after(self) -> None:
        busy = _error(503, "broker_unavailable", "no ack", **{"Retry-After": "3"})
        endpoint = Endpoint(busy, busy, ACCEPTED)
        slept: list[float] = []
        client = _client(endpoint, slept)

        outcome = await client.send([b"{}"])

        assert isinstance(outcome, Accepted)
        assert slept == [3.0, 3.0] and client.retries == 2
        assert len(set(endpoint.bodies)) == 1  # the same batch each time

    async def test_network_error_and_429_without_retry_after_back_off_exponentially(
        self,
    ) -> None:
        endpoint = Endpoint(
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.Response(429),
            ACCEPTED,
        )
        slept: list[float] = []

        await _client(endpoint, slept).send([b"{}"])

        assert slept == [0.5, 1.0, 2.0]

    async def test_gives_up_after_max_attempts_with_the_last_problem(self) -> None:
        busy = _error(503, "broker_unavailable", "no ack", **{"Retry-After": "1"})
        endpoint = Endpoint(*[busy] * RETRY.max_attempts)
        slept: list[float] = []

        with pytest.raises(ServiceError, match="failed 4 times, last: 503 broker_unavailable"):
            await _client(endpoint, slept).send([b"{}"])
        assert len(slept) == RETRY.max_attempts - 1

    async def test_wrong_endpoint_fails_at_once(self) -> None:
        endpoint = Endpoint(_error(404, "not_found", "Not Found"))
        slept: list[float] = []

        with pytest.raises(ServiceError, match="answered 404 not_found"):
            await _client(endpoint, slept).send([b"{}"])
        assert slept == []

    async def test_validation_errors_come_back_per_item_index(self) -> None:
        detail = [
            {"loc": ["body", 1, "csat"], "msg": "Input should be less than or equal to 5"},
            {"loc": ["body", 1, "customer", "id"], "msg": "String should have at most 256"},
            {"loc": ["body", 3], "msg": "Value error, needs an answer"},
        ]
        endpoint = Endpoint(_error(422, "validation_error", detail))

        outcome = await _client(endpoint, []).send([b"{}"] * 4)

        assert outcome == Invalid(
            {
                1: [
                    "csat: Input should be less than or equal to 5",
                    "customer.id: String should have at most 256",
                ],
                3: ["Value error, needs an answer"],
            },
            [],
        )

    async def test_too_large_is_reported_for_splitting(self) -> None:
        endpoint = Endpoint(_error(413, "payload_too_large", "at most 5 items per request"))

        outcome = await _client(endpoint, []).send([b"{}"] * 6)

        assert outcome == TooLarge("at most 5 items per request")

    async def test_check_fails_fast_when_nothing_listens(self) -> None:
        endpoint = Endpoint(httpx.ConnectError("refused"))

        with pytest.raises(ServiceError, match="no ingestion service answers at http://svc"):
            await _client(endpoint, []).check()


class TestReasons:
    def test_errors_without_an_item_index_are_general(self) -> None:
        by_index, general = reasons_by_index(
            [
                {"loc": ["body"], "msg": "invalid JSON"},
                "odd",
                {"loc": ["body", "2", "x"], "msg": "m"},
            ]
        )

        assert by_index == {2: ["x: m"]}
        assert general == ["invalid JSON", "odd"]

    def test_retry_after_reads_seconds_and_http_dates(self) -> None:
        later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

        assert retry_after("2") == 2.0
        assert 25 < (retry_after(later) or 0) <= 30
        assert retry_after(None) is None and retry_after("soon") is None
