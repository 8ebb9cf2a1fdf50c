"""Traffic through all four ingestion services, with the errors and poison an operator sees.

`drive` posts the items, a duplicate and a newer revision, a signed Typeform webhook and a forged
one, bad requests to every service, and one undecodable record into each consumer's input topic;
it returns what the scores must then be. `STACK_ENV` turns the Typeform webhook on.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from shared.events import EnrichedFeedbackEvent, RawFeedbackEvent, SourceKind
from tests.helpers import eventually
from tests.stack import SERVICES, RunningStack, create_api_key
from tests.unit.ingest.webhooks import vendors as sv

# Customer NPS answers at checkout; resp-0 is later revised from 10 to 8.
NPS_ANSWERS = [10, 9, 9, 8, 7, 6, 3, 10, 0, 9]
NPS_REVISED = 8
# Checkout CES answers, 1-7: resp-0..7 answer it beside NPS, resp-10 and resp-11 beside CSAT.
CES_CHECKOUT = [7, 6, 6, 5, 5, 4, 4, 2, 6, 3]
# One CES answer at delivery: a touchpoint with n = 1, whose band must be empty.
CES_DELIVERY = 2

# What an operator sets to turn the Typeform webhook on (README "Vendor webhooks").
STACK_ENV = {
    "VOC_WEBHOOK_SECRET_TYPEFORM": sv.SECRETS["typeform"],
    "SURVEYS_TYPEFORM_FORMS": json.dumps(
        {f: m.model_dump(mode="json", exclude_none=True) for f, m in sv.TYPEFORM_FORMS.items()}
    ),
}


def nps(scores: list[int]) -> float:
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


@dataclass(frozen=True)
class Expected:
    items: int
    by_kind: dict[str, int]
    by_stage: dict[str, int]
    nps: float
    nps_n: int
    nps_shares: tuple[float, float]  # promoters, detractors
    csat_overall: float
    csat: dict[str, tuple[float, int]]  # touchpoint -> (CSAT %, n)
    ces_overall: float
    ces: dict[str, list[int]]  # touchpoint -> the CES answers
    # Touchpoints whose per-touchpoint panel must show a point: NPS, CSAT, CES.
    scored: dict[str, set[str]] = field(default_factory=dict)


def _surveys(at: str) -> list[dict[str, Any]]:
    answers = [
        {
            "source": "ops",
            "source_id": f"resp-{i}",
            "occurred_at": at,
            "touchpoint": "checkout",
            "nps": score,
            **({"ces": CES_CHECKOUT[i]} if i < 8 else {}),
            # Only promoters comment: the rest are no_text unscored items.
            "comment": "Checkout was quick and easy" if score >= 9 else None,
        }
        for i, score in enumerate(NPS_ANSWERS)
    ]
    answers += [
        {"source": "ops", "source_id": "resp-10", "occurred_at": at, "touchpoint": "checkout",
         "csat": 5, "ces": CES_CHECKOUT[8], "comment": "Paying was simple"},
        {"source": "ops", "source_id": "resp-11", "occurred_at": at, "touchpoint": "checkout",
         "csat": 2, "ces": CES_CHECKOUT[9], "comment": "The card form kept failing"},
        {"source": "ops", "source_id": "resp-12", "occurred_at": at, "touchpoint": "delivery",
         "ces": CES_DELIVERY},
        # An employee's answer counts in eNPS only: no customer metric (NPS, CSAT, CES) may move.
        {"source": "ops", "source_id": "emp-0", "occurred_at": at, "touchpoint": "checkout",
         "audience": "employee", "nps": 0, "csat": 1, "ces": 1},
    ]  # fmt: skip
    return answers


def _others(at: str) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    tickets = [
        {"source": "ops", "source_id": f"t-{i}", "occurred_at": at, "subject": "Refund",
         "body": "I was charged twice for my order, please refund the duplicate charge.",
         "channel": "email", "tags": ["billing"], "csat": csat, "touchpoint": "customer_support"}
        for i, csat in enumerate([5, 4, 2])
    ]  # fmt: skip
    reviews = [
        {"source": "ops", "source_id": f"rv-{i}", "occurred_at": at, "platform": "trustpilot",
         "stars": stars, "title": "Product", "body": text, "touchpoint": "product"}
        for i, (stars, text) in enumerate(
            # The 1-star one names two topics (product quality, delivery): the topic panel
            # counts it in each.
            [(5, "Excellent quality, love it"),
             (1, "Broke after two days, terrible. And the delivery took three weeks.")]
        )
    ]  # fmt: skip
    posts = [
        {"source": "ops", "source_id": "p-1", "occurred_at": at, "platform": "mastodon",
         "author": "@someone", "text": "Мой заказ опять опоздал на неделю, ужасная доставка 😡",
         "url": "https://example.social/@someone/1"}
    ]  # fmt: skip
    return {
        "tickets": ("/v1/tickets", tickets),
        "reviews": ("/v1/reviews", reviews),
        "social": ("/v1/posts", posts),
    }


async def _post(client: httpx.AsyncClient, url: str, body: Any, status: int = 202) -> None:
    resp = await client.post(url, json=body)
    assert resp.status_code == status, resp.text


async def _bad_requests(
    client: httpx.AsyncClient, stack: RunningStack, api_auth: dict[str, str]
) -> None:
    """4xx on every service, so the error panels have series to show."""
    paths = {"surveys": "/v1/responses", "tickets": "/v1/tickets", "reviews": "/v1/reviews",
             "social": "/v1/posts"}  # fmt: skip
    for service, path in paths.items():
        await _post(client, stack.url(service) + path, {"source": "ops"}, status=422)
    resp = await client.post(
        stack.url("surveys") + "/v1/responses",
        content=b"nps=9",
        headers={"content-type": "text/plain"},
    )
    assert resp.status_code == 415, resp.text
    resp = await client.get(
        stack.url("api") + "/v1/scores", params={"granularity": "fortnight"}, headers=api_auth
    )
    assert resp.status_code == 422, resp.text
    for service in SERVICES:
        resp = await client.get(stack.url(service) + "/no-such-path")
        assert resp.status_code == 404, (service, resp.text)


async def _webhooks(client: httpx.AsyncClient, stack: RunningStack) -> None:
    """A signed Typeform delivery (accepted) and a forged one (401), for the webhook panels.

    The body is Typeform's documented example, submitted in 2018: outside the scores dashboard's
    range and the API's default window, so the expected scores stay those of the items above.
    """
    url = stack.url("surveys") + "/v1/webhooks/typeform"
    body = sv.dumps(sv.typeform("ops-typeform-0001"))
    resp = await client.post(url, content=body, headers=sv.typeform_headers(body))
    assert resp.status_code == 202, resp.text
    forged = sv.dumps(sv.typeform("ops-typeform-forged"))
    headers = sv.typeform_headers(forged, secret="not-the-form-secret")
    resp = await client.post(url, content=forged, headers=headers)
    assert resp.status_code == 401, resp.text


async def _poison(stack: RunningStack) -> None:
    """One undecodable record into each consumer's input: both dead-letter it."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        for topic in (RawFeedbackEvent.topic_for(SourceKind.survey), EnrichedFeedbackEvent.TOPIC):
            await producer.send_and_wait(topic, b"{not json", key=b"poison")
    finally:
        await producer.stop()


async def drive(stack: RunningStack, client: httpx.AsyncClient) -> Expected:
    api_auth = {"Authorization": f"Bearer {await asyncio.to_thread(create_api_key, stack)}"}
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    surveys = _surveys(at)
    await _post(client, stack.url("surveys") + "/v1/responses", surveys)
    others = _others(at)
    for service, (path, items) in others.items():
        await _post(client, stack.url(service) + path, items)
    total = len(surveys) + sum(len(items) for _, items in others.values())

    async def live_items() -> int:
        resp = await client.get(
            stack.url("api") + "/v1/scores", params={"granularity": "total"}, headers=api_auth
        )
        assert resp.status_code == 200, resp.text
        return sum(int(i["n"]) for i in resp.json()["items"])

    await eventually(live_items, lambda n: n == total, timeout_s=120, interval_s=0.5)
    # Now, with the originals stored: a duplicate delivery (skipped) and a revision (updated).
    await _post(client, stack.url("surveys") + "/v1/responses", surveys[1])
    await _post(
        client,
        stack.url("surveys") + "/v1/responses",
        {**surveys[0], "nps": NPS_REVISED, "revision": "2"},
    )
    answers = [NPS_REVISED, *NPS_ANSWERS[1:]]

    async def checkout_nps() -> float | None:
        params = {"granularity": "total", "touchpoint": "checkout"}
        resp = await client.get(stack.url("api") + "/v1/scores", params=params, headers=api_auth)
        assert resp.status_code == 200, resp.text
        [item] = resp.json()["items"]
        return item["nps"]["value"]  # type: ignore[no-any-return]

    await eventually(
        checkout_nps, lambda v: v is not None and abs(v - nps(answers)) < 1e-9, timeout_s=60
    )
    await _webhooks(client, stack)
    await _bad_requests(client, stack, api_auth)
    await _poison(stack)
    ces = {"checkout": CES_CHECKOUT, "delivery": [CES_DELIVERY]}

    return Expected(
        items=total,
        by_kind={"survey": len(surveys), "ticket": 3, "review": 2, "social": 1},
        # checkout is a conversion touchpoint; support, product and delivery are retention.
        by_stage={"conversion": len(surveys) - 1, "retention": 7},
        nps=nps(answers),
        nps_n=len(answers),
        nps_shares=(
            sum(s >= 9 for s in answers) / len(answers),
            sum(s <= 6 for s in answers) / len(answers),
        ),
        # 4-5 answers: two of the tickets' three, one of the checkout survey's two.
        csat_overall=100 * 3 / 5,
        csat={"checkout": (50.0, 2), "customer_support": (100 * 2 / 3, 3)},
        ces_overall=sum(map(sum, ces.values())) / sum(map(len, ces.values())),
        ces=ces,
        scored={
            "NPS": {"checkout"},
            "CSAT": {"checkout", "customer_support"},
            "CES": set(ces),
        },
    )
