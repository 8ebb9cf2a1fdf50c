"""CSV export and cursor paging of /v1/scores and /v1/feedback: same rows, same order as JSON."""

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

from services.api.export import FEEDBACK_COLUMNS, score_columns
from services.api.repository import STREAM_CHUNK_ROWS
from shared.tables import feedback_facts
from tests.integration.api.generated import DAYS, START, generate, seed

ANSWERS = generate()
WINDOW = {"from": START.isoformat(), "to": (START + timedelta(days=DAYS)).isoformat()}
T0 = datetime(2024, 6, 1, tzinfo=UTC)
# More facts than one streamed chunk, so an export spans several reads of the cursor.
FACT_COUNT = 2 * STREAM_CHUNK_ROWS + 345


def generate_facts(count: int = FACT_COUNT, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        # Pairs of rows share an instant: ties are ordered by feedback_id.
        occurred = T0 - timedelta(minutes=3 * (i // 2))
        label = rng.choice(["negative", "positive", None])
        rows.append({
            "feedback_id": uuid.UUID(int=rng.getrandbits(128)), "event_id": uuid.uuid4(),
            "revision": "1", "revision_rank": 1, "received_at": occurred, "deleted": i % 50 == 0,
            "source_kind": rng.choice(["survey", "review"]), "source": "api",
            "source_id": f"src-{i}", "occurred_at": occurred,
            "bucket_start": occurred.replace(minute=0, second=0, microsecond=0),
            "touchpoint": rng.choice(["checkout", "delivery"]), "journey_stage": "conversion",
            "touchpoint_rule": "explicit", "channel": "", "language": "en",
            "nps": rng.choice([None, 3, 9]), "sentiment_label": label,
            "sentiment_score": None if label is None else round(rng.uniform(-1, 1), 3),
            "sentiment_confidence": None if label is None else 0.8,
            "topics": [{"label": "delivery", "score": 0.7}] if i % 3 else [],
            "primary_topic": "delivery" if i % 3 else None,
            "redacted_text": "=1+1 sneaky" if i % 97 == 0 else f"text {i}, with a comma",
            "model_version": "test-1",
        })  # fmt: skip
    return rows


FACTS = generate_facts()
LIVE = sorted(
    (f for f in FACTS if not f["deleted"]),
    key=lambda f: (f["occurred_at"], f["feedback_id"]),
    reverse=True,
)


@pytest.fixture(scope="module", autouse=True)
async def seeded(writer: AsyncEngine) -> None:
    async with writer.begin() as conn:
        await seed(conn, ANSWERS)
        await conn.execute(insert(feedback_facts), FACTS)


async def json_walk(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= int(params.get("limit", 10**9))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def rounded(value: Any) -> Any:
    """Floats to 9 significant digits: sums of sentiment scores may be added up in another order
    by another query plan, and differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, str) and value.replace(".", "").replace("-", "").isdigit():
        return rounded(float(value))
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def parse(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


async def csv_walk(
    client: httpx.AsyncClient, path: str, **params: str
) -> tuple[list[str], list[dict[str, str]], int]:
    """Follow Link rel=next; (header, rows, pages)."""
    response = await client.get(path, params={**params, "format": "csv"})
    header = next(csv.reader(io.StringIO(response.text)))
    rows, pages = parse(response), 1
    while "link" in response.headers:
        url = response.headers["link"].split(">")[0].lstrip("<")
        assert response.headers["x-next-cursor"] in url
        response = await client.get(url)
        rows += parse(response)
        pages += 1
    return header, rows, pages


class TestScoresPaging:
    async def test_pages_walk_every_group_once_in_bucket_then_group_order(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"granularity": "day", "group_by": "touchpoint,channel", **WINDOW}
        whole = await json_walk(client, "/v1/scores", **params)
        paged = await json_walk(client, "/v1/scores", limit="7", **params)
        assert len(whole) > 14 and rounded(paged) == rounded(whole)
        keys = [(i["bucket_start"], i["group"]["touchpoint"], i["group"]["channel"] or "")
                for i in whole]  # fmt: skip
        assert keys == sorted(keys)

    async def test_total_pages_by_group_alone(self, client: httpx.AsyncClient) -> None:
        params = {"granularity": "total", "group_by": "segment,language", **WINDOW}
        whole = await json_walk(client, "/v1/scores", **params)
        paged = await json_walk(client, "/v1/scores", limit="2", **params)
        assert rounded(paged) == rounded(whole)

    async def test_a_cursor_from_another_grouping_is_422(self, client: httpx.AsyncClient) -> None:
        first = await client.get(
            "/v1/scores", params={"group_by": "touchpoint", "limit": "1", **WINDOW}
        )
        cursor = first.json()["next_cursor"]
        response = await client.get(
            "/v1/scores", params={"group_by": "channel", "cursor": cursor, **WINDOW}
        )
        assert response.status_code == 422
        assert "another query" in response.json()["detail"][0]["msg"]


class TestScoresCsv:
    async def test_csv_has_the_documented_header_and_the_json_values(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"granularity": "week", "group_by": "touchpoint", **WINDOW}
        items = await json_walk(client, "/v1/scores", **params)
        header, rows, pages = await csv_walk(client, "/v1/scores", **params)
        assert header == score_columns(("touchpoint",)) and pages == 1
        assert len(rows) == len(items)
        for row, item in zip(rows, items, strict=True):
            assert datetime.fromisoformat(row["bucket_start"]) == datetime.fromisoformat(
                item["bucket_start"]
            )
            assert (row["touchpoint"], int(row["n"])) == (item["group"]["touchpoint"], item["n"])
            for block in ("nps", "csat", "ces", "stars", "sentiment", "enps"):
                for name, value in item[block].items():
                    cell = row[f"{block}_{name}"]
                    if value is None:
                        assert cell == ""
                    elif isinstance(value, bool):
                        assert cell == str(value).lower()
                    else:
                        assert float(cell) == pytest.approx(value), (block, name)

    async def test_accept_text_csv_asks_for_csv_and_format_json_overrides_it(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"granularity": "total", **WINDOW}
        as_csv = await client.get("/v1/scores", params=params, headers={"accept": "text/csv"})
        assert len(parse(as_csv)) == 1
        assert as_csv.headers["content-disposition"] == 'attachment; filename="scores.csv"'
        as_json = await client.get(
            "/v1/scores", params={**params, "format": "json"}, headers={"accept": "text/csv"}
        )
        assert as_json.headers["content-type"] == "application/json"

    async def test_csv_pages_follow_link_headers_to_the_same_rows(
        self, client: httpx.AsyncClient
    ) -> None:
        params = {"granularity": "day", "group_by": "segment", **WINDOW}
        _, whole, _ = await csv_walk(client, "/v1/scores", **params)
        _, paged, pages = await csv_walk(client, "/v1/scores", limit="4", **params)
        assert rounded(paged) == rounded(whole) and pages == -(-len(whole) // 4)

    async def test_filters_apply_to_the_export(self, client: httpx.AsyncClient) -> None:
        params = {"granularity": "total", "audience": "employee", **WINDOW}
        [row] = (await csv_walk(client, "/v1/scores", **params))[1]
        assert int(row["n"]) == sum(a.audience == "employee" for a in ANSWERS)
        assert row["nps_n"] == "0" and row["nps_value"] == ""


class TestFeedbackCsv:
    async def test_export_streams_every_live_row_newest_first_across_chunks(
        self, client: httpx.AsyncClient
    ) -> None:
        header, rows, pages = await csv_walk(client, "/v1/feedback")
        assert header == list(FEEDBACK_COLUMNS) and pages == 1
        assert len(LIVE) > 2 * STREAM_CHUNK_ROWS
        assert [r["feedback_id"] for r in rows] == [str(f["feedback_id"]) for f in LIVE]

    async def test_rows_carry_the_fact_fields_and_quote_formula_text(
        self, client: httpx.AsyncClient
    ) -> None:
        rows = (await csv_walk(client, "/v1/feedback", touchpoint="checkout"))[1]
        facts = {str(f["feedback_id"]): f for f in LIVE if f["touchpoint"] == "checkout"}
        assert {r["feedback_id"] for r in rows} == set(facts)
        for row in rows:
            fact = facts[row["feedback_id"]]
            text = fact["redacted_text"]
            assert row["text"] == ("'" + text if text.startswith("=") else text)
            assert row["nps"] == ("" if fact["nps"] is None else str(fact["nps"]))
            assert row["topics"] == ";".join(t["label"] for t in fact["topics"])
        assert any(r["text"].startswith("'=") for r in rows)

    async def test_csv_pages_match_json_pages(self, client: httpx.AsyncClient) -> None:
        params = {"sentiment": "negative", "limit": "150"}
        items = await json_walk(client, "/v1/feedback", **params)
        _, rows, pages = await csv_walk(client, "/v1/feedback", **params)
        assert [r["feedback_id"] for r in rows] == [i["feedback_id"] for i in items]
        assert pages == -(-len(items) // 150) > 1

    async def test_json_pages_are_capped_and_csv_takes_larger_ones(
        self, client: httpx.AsyncClient
    ) -> None:
        too_big = await client.get("/v1/feedback", params={"limit": "501"})
        assert too_big.status_code == 422
        assert (
            len(parse(await client.get("/v1/feedback", params={"limit": "1200", "format": "csv"})))
            == 1200
        )
