"""The whole pipeline as a user runs it (`python -m shared.stack`, what `make run` starts),
driven as a black box over HTTP: post to all four ingestion services, read scores from the API
with a key made by `voc api-key create` against the stack's database.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import eventually
from tests.stack import SERVICES, RunningStack, create_api_key, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("voc-home"), {}) as running:
        yield running


@pytest.fixture(scope="module")
def api_auth(stack: RunningStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_api_key(stack, 'e2e')}"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as c:
        yield c


def _nps(scores: list[int]) -> float:
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    return 100 * (promoters - detractors) / len(scores)


async def _scores(
    client: httpx.AsyncClient, stack: RunningStack, auth: dict[str, str], **params: str
) -> list[Any]:
    resp = await client.get(f"{stack.url('api')}/v1/scores", params=params, headers=auth)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


class TestWholePipeline:
    async def test_feedback_from_all_four_sources_becomes_scores(
        self, stack: RunningStack, client: httpx.AsyncClient, api_auth: dict[str, str]
    ) -> None:
        now = datetime.now(UTC) - timedelta(minutes=5)
        at = now.isoformat()
        nps_answers = [10, 9, 9, 8, 7, 6, 3, 10, 0, 9]
        responses = [
            {
                "source": "e2e",
                "source_id": f"resp-{i}",
                "occurred_at": at,
                "touchpoint": "checkout",
                "nps": score,
                "comment": "Checkout was quick and easy" if score >= 9 else None,
            }
            for i, score in enumerate(nps_answers)
        ]
        r = await client.post(f"{stack.url('surveys')}/v1/responses", json=responses)
        assert r.status_code == 202, r.text
        assert r.json()["accepted"] == len(responses)

        # A duplicate delivery of the same version, and a newer version of resp-0 (10 -> 2).
        dup = await client.post(f"{stack.url('surveys')}/v1/responses", json=responses[1])
        assert dup.status_code == 202
        assert dup.json()["event_ids"] == [r.json()["event_ids"][1]]
        newer = {**responses[0], "nps": 2, "revision": "2"}
        assert (
            await client.post(f"{stack.url('surveys')}/v1/responses", json=newer)
        ).status_code == 202
        nps_answers[0] = 2

        tickets = [
            {
                "source": "e2e",
                "source_id": f"t-{i}",
                "occurred_at": at,
                "subject": "Refund",
                "body": "I was charged twice for my order, please refund the duplicate charge.",
                "status": "solved",
                "priority": "high",
                "channel": "email",
                "tags": ["billing"],
                "csat": csat,
                "touchpoint": "customer_support",
            }
            for i, csat in enumerate([5, 4, 2])
        ]
        assert (
            await client.post(f"{stack.url('tickets')}/v1/tickets", json=tickets)
        ).status_code == 202
        reviews = [
            {
                "source": "e2e",
                "source_id": f"rv-{i}",
                "occurred_at": at,
                "platform": "trustpilot",
                "stars": stars,
                "title": "Product",
                "body": text,
                "touchpoint": "product",
            }
            for i, (stars, text) in enumerate(
                [(5, "Excellent quality, love it"), (1, "Broke after two days, terrible")]
            )
        ]
        assert (
            await client.post(f"{stack.url('reviews')}/v1/reviews", json=reviews)
        ).status_code == 202
        post = {
            "source": "e2e",
            "source_id": "p-1",
            "occurred_at": at,
            "platform": "mastodon",
            "author": "@someone",
            "text": "Мой заказ опять опоздал на неделю, ужасная доставка 😡",
            "url": "https://example.social/@someone/1",
        }
        assert (await client.post(f"{stack.url('social')}/v1/posts", json=post)).status_code == 202

        expected_total = len(responses) + len(tickets) + len(reviews) + 1

        async def total() -> list[Any]:
            return await _scores(
                client, stack, api_auth, granularity="total", group_by="source_kind"
            )

        items = await eventually(
            total, lambda it: sum(i["n"] for i in it) == expected_total, timeout_s=90
        )
        by_kind = {i["group"]["source_kind"]: i for i in items}
        assert by_kind["survey"]["n"] == len(responses)
        assert by_kind["survey"]["nps"]["n"] == len(nps_answers)
        assert by_kind["survey"]["nps"]["value"] == pytest.approx(_nps(nps_answers))
        assert by_kind["ticket"]["csat"]["value"] == pytest.approx(100 * 2 / 3)
        assert by_kind["review"]["stars"]["value"] == pytest.approx(3.0)
        assert by_kind["social"]["sentiment"]["n"] == 1
        assert by_kind["social"]["sentiment"]["negative_share"] == pytest.approx(100.0)

        by_tp = {
            i["group"]["touchpoint"]: i
            for i in await _scores(
                client, stack, api_auth, granularity="total", group_by="touchpoint"
            )
        }
        assert by_tp["checkout"]["nps"]["value"] == pytest.approx(_nps(nps_answers))
        assert by_tp["customer_support"]["csat"]["n"] == 3
        assert by_tp["product"]["stars"]["n"] == 2
        # The social post named no touchpoint: it was inferred from its (delivery) topic.
        assert by_tp["delivery"]["n"] == 1

        feed = await client.get(
            f"{stack.url('api')}/v1/feedback", params={"source_kind": "social"}, headers=api_auth
        )
        assert feed.status_code == 200
        [item] = feed.json()["items"]
        assert item["language"] == "ru"
        assert item["sentiment"]["label"] == "negative"

    async def test_topics_drivers_and_negative_verbatims_agree_with_the_facts(
        self, stack: RunningStack, client: httpx.AsyncClient, api_auth: dict[str, str]
    ) -> None:
        """After the test above: the slices the writer kept answer like the stored facts."""
        api = stack.url("api")
        window = {
            "from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
        feed = await client.get(
            f"{api}/v1/feedback", params={**window, "limit": "500"}, headers=api_auth
        )
        assert feed.status_code == 200, feed.text
        facts = feed.json()["items"]
        assert len(facts) == 16  # 10 answers, 3 tickets, 2 reviews, 1 post (test above)
        per_topic: dict[str, int] = {}
        for fact in facts:
            for label in {t["label"] for t in fact["topics"]} or {None}:
                per_topic[label] = per_topic.get(label, 0) + 1

        groups = await _scores(
            client, stack, api_auth, granularity="total", group_by="topic", **window
        )
        assert {g["group"]["topic"]: g["n"] for g in groups} == per_topic

        # Drivers of NPS at checkout: with + without = every answer, for each topic.
        drivers = await client.get(
            f"{api}/v1/drivers",
            params={**window, "metric": "nps", "touchpoint": "checkout"},
            headers=api_auth,
        )
        assert drivers.status_code == 200, drivers.text
        body = drivers.json()
        assert body["overall"]["n"] == 10
        checkout_topics = {
            t["label"] for f in facts if f["touchpoint"] == "checkout" for t in f["topics"]
        }
        assert {i["topic"] for i in body["items"]} == checkout_topics
        for item in body["items"]:
            assert item["with_topic"]["n"] + item["without_topic"]["n"] == 10

        worst = await client.get(
            f"{api}/v1/feedback", params={**window, "order": "most_negative"}, headers=api_auth
        )
        assert worst.status_code == 200, worst.text
        scores = [i["sentiment"]["score"] for i in worst.json()["items"]]
        scored = [f for f in facts if f["sentiment"] and f["sentiment"]["score"] is not None]
        assert scores == sorted(f["sentiment"]["score"] for f in scored)

    async def test_every_service_reports_health_and_metrics(
        self, stack: RunningStack, client: httpx.AsyncClient
    ) -> None:
        for name in SERVICES:
            ready = await client.get(f"{stack.url(name)}/readyz")
            assert ready.status_code == 200, (name, ready.text)
            metrics = await client.get(f"{stack.url(name)}/metrics")
            assert f"voc_{name}_" in metrics.text, name

    async def test_the_api_refuses_a_request_without_a_key(
        self, stack: RunningStack, client: httpx.AsyncClient
    ) -> None:
        resp = await client.get(f"{stack.url('api')}/v1/scores")
        assert resp.status_code == 401
        assert resp.json()["error"] == "unauthorized"
        assert resp.headers["www-authenticate"] == "Bearer"

    def test_sigterm_stops_every_process(self, stack: RunningStack) -> None:
        stack.proc.send_signal(signal.SIGTERM)
        assert stack.proc.wait(90) == 0
        for name, port in stack.ports.items():
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", port)) != 0, f"{name} still listening"
