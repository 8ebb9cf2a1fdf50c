"""GET /v1/feedback: keyset pagination over feedback_facts, newest first, with filters."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.tables import feedback_facts

T0 = datetime(2024, 6, 1, tzinfo=UTC)
TOPICS = ["delivery", "product_quality", "pricing", "customer_support", "billing", "returns"]


def generate_facts(count: int = 160, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        # Every fourth row shares its instant with the previous one: ties order by feedback_id.
        occurred = T0 + timedelta(minutes=7 * (i - (i % 4 == 3)), microseconds=i % 4 // 2)
        label = rng.choice(["negative", "neutral", "positive", None])
        score = None if label is None else round(rng.uniform(-1, 1), 3)
        if score is not None and i % 5 == 0:
            score = -0.5  # ties in sentiment score: most_negative orders them newest first
        topics = rng.sample(TOPICS, rng.randint(0, 3))
        rows.append({
            "feedback_id": uuid.UUID(int=rng.getrandbits(128)), "event_id": uuid.uuid4(),
            "revision": "1", "revision_rank": 1, "received_at": occurred, "deleted": i % 10 == 0,
            "source_kind": rng.choice(["survey", "ticket", "review"]), "source": "api",
            "source_id": f"src-{i}", "occurred_at": occurred,
            "bucket_start": occurred.replace(minute=0, second=0, microsecond=0),
            "touchpoint": rng.choice(["checkout", "delivery", "website"]),
            "journey_stage": "conversion", "touchpoint_rule": "explicit",
            "channel": rng.choice(["web", ""]), "language": rng.choice(["en", "de"]),
            "nps": rng.randint(0, 10), "sentiment_label": label,
            "sentiment_score": score,
            "sentiment_confidence": None if label is None else 0.9,
            "topics": [{"label": t, "score": 0.5} for t in topics],
            "primary_topic": topics[0] if topics else None,
            "redacted_text": f"text {i} [EMAIL]", "model_version": "test-1",
        })  # fmt: skip
    return rows


FACTS = generate_facts()
LIVE = [f for f in FACTS if not f["deleted"]]


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await conn.execute(insert(feedback_facts), FACTS)


def newest_first(rows: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(rows, key=lambda f: (f["occurred_at"], f["feedback_id"]), reverse=True)
    return [str(f["feedback_id"]) for f in ordered]


def most_negative_first(rows: list[dict[str, Any]]) -> list[str]:
    """Scored rows only: lowest score, then newest, then the larger feedback_id."""
    scored = [f for f in rows if f["sentiment_score"] is not None]
    # Stable sorts, last key first.
    scored.sort(key=lambda f: (f["occurred_at"], f["feedback_id"]), reverse=True)
    scored.sort(key=lambda f: f["sentiment_score"])
    return [str(f["feedback_id"]) for f in scored]


async def walk(client: httpx.AsyncClient, limit: int, **params: str) -> list[dict[str, Any]]:
    """Follow next_cursor from the first page to the last; every page within `limit`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/feedback", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


class TestFeedback:
    async def test_pages_walk_every_live_row_once_newest_first(
        self, client: httpx.AsyncClient
    ) -> None:
        assert len({f["occurred_at"] for f in LIVE}) < len(LIVE)  # the data has ties
        items = await walk(client, limit=7)
        assert [i["feedback_id"] for i in items] == newest_first(LIVE)

    async def test_filters_apply_across_pages(self, client: httpx.AsyncClient) -> None:
        items = await walk(client, limit=3, touchpoint="checkout", sentiment="negative")
        want = [f for f in LIVE if f["touchpoint"] == "checkout"
                and f["sentiment_label"] == "negative"]  # fmt: skip
        assert want and [i["feedback_id"] for i in items] == newest_first(want)

    async def test_topic_filter_matches_any_topic_not_only_the_primary(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await walk(client, limit=50, topic="billing")
        want = [f for f in LIVE if any(t["label"] == "billing" for t in f["topics"])]
        assert [i["feedback_id"] for i in items] == newest_first(want)
        assert any(i["topics"][0]["label"] != "billing" for i in items)

    async def test_window_and_source_kind_filters(self, client: httpx.AsyncClient) -> None:
        lo, hi = T0 + timedelta(hours=2), T0 + timedelta(hours=9)
        params = {"from": lo.isoformat(), "to": hi.isoformat(), "source_kind": "ticket"}
        items = await walk(client, limit=4, **params)
        want = [f for f in LIVE if lo <= f["occurred_at"] < hi and f["source_kind"] == "ticket"]
        assert want and [i["feedback_id"] for i in items] == newest_first(want)

    async def test_item_shape_serves_redacted_text_and_nulls_unknowns(
        self, client: httpx.AsyncClient
    ) -> None:
        items = await walk(client, limit=500)
        by_id = {i["feedback_id"]: i for i in items}
        fact = next(f for f in LIVE if f["sentiment_label"] and f["channel"] == "" and f["topics"])
        item = by_id[str(fact["feedback_id"])]
        assert item["text"] == fact["redacted_text"] and item["channel"] is None
        assert item["sentiment"] == {
            "label": fact["sentiment_label"],
            "score": fact["sentiment_score"],
            "confidence": 0.9,
        }
        assert item["topics"] == fact["topics"] and item["nps"] == fact["nps"]
        assert datetime.fromisoformat(item["occurred_at"]) == fact["occurred_at"]


class TestMostNegative:
    async def test_pages_walk_every_scored_row_once_lowest_score_first(
        self, client: httpx.AsyncClient
    ) -> None:
        scores = [f["sentiment_score"] for f in LIVE if f["sentiment_score"] is not None]
        assert len(scores) - len(set(scores)) > 5  # the data has ties in score
        items = await walk(client, limit=4, order="most_negative")
        assert [i["feedback_id"] for i in items] == most_negative_first(LIVE)
        assert all(i["sentiment"] is not None for i in items)

    async def test_top_negative_verbatims_of_a_topic_at_a_touchpoint_in_a_window(
        self, client: httpx.AsyncClient
    ) -> None:
        lo, hi = T0 + timedelta(hours=1), T0 + timedelta(hours=15)
        params = {"order": "most_negative", "topic": "delivery", "touchpoint": "checkout",
                  "from": lo.isoformat(), "to": hi.isoformat()}  # fmt: skip
        items = await walk(client, limit=3, **params)
        want = [f for f in LIVE if lo <= f["occurred_at"] < hi and f["touchpoint"] == "checkout"
                and any(t["label"] == "delivery" for t in f["topics"])]  # fmt: skip
        assert len(items) > 3 and [i["feedback_id"] for i in items] == most_negative_first(want)

    async def test_the_first_page_holds_the_lowest_scores(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/feedback", params={"order": "most_negative", "limit": 5})
        scores = [i["sentiment"]["score"] for i in response.json()["items"]]
        assert scores == sorted(f["sentiment_score"] for f in LIVE
                                if f["sentiment_score"] is not None)[:5]  # fmt: skip

    @pytest.mark.parametrize(("made", "used"), [("newest", "most_negative"),
                                                 ("most_negative", "newest")])  # fmt: skip
    async def test_a_cursor_reused_with_another_order_is_422(
        self, client: httpx.AsyncClient, made: str, used: str
    ) -> None:
        first = await client.get("/v1/feedback", params={"order": made, "limit": 2})
        cursor = first.json()["next_cursor"]
        response = await client.get("/v1/feedback", params={"order": used, "cursor": cursor})
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "cursor"] and f"order={made}" in error["msg"]

    async def test_an_unknown_order_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/feedback", params={"order": "angriest"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "order"]

    async def test_csv_pages_follow_the_same_order(self, client: httpx.AsyncClient) -> None:
        params = {"order": "most_negative", "format": "csv", "limit": "9"}
        response = await client.get("/v1/feedback", params=params)
        ids, pages = [], 0
        while True:
            assert response.status_code == 200, response.text
            pages += 1
            ids += [r["feedback_id"] for r in csv.DictReader(io.StringIO(response.text))]
            if "link" not in response.headers:
                break
            response = await client.get(response.headers["link"].split(">")[0].lstrip("<"))
        assert ids == most_negative_first(LIVE) and pages == -(-len(ids) // 9)
