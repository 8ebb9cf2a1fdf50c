"""CSV export: format negotiation, the flattened columns and how cells are written."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from services.api.export import (
    FEEDBACK_COLUMNS,
    csv_body,
    feedback_cells,
    score_cells,
    score_columns,
    wants_csv,
)
from services.api.schemas import FeedbackItem, ScoreItem
from services.api.scores import PART_KEYS, score_fields


class TestWantsCsv:
    @pytest.mark.parametrize(
        ("format_", "accept", "csv_wanted"),
        [
            (None, None, False),
            (None, "*/*", False),
            (None, "application/json", False),
            (None, "text/csv", True),
            (None, "text/csv, */*", True),
            (None, "Text/CSV; charset=utf-8", True),
            (None, "text/csv;q=0.5, application/json", False),
            (None, "application/json;q=0.2, text/csv;q=0.9", True),
            (None, "text/csv;q=0", False),
            (None, "text/csv;q=oops", False),
            ("json", "text/csv", False),
            ("csv", "application/json", True),
        ],
    )
    def test_format_wins_then_accept_decides(
        self, format_: Any, accept: str | None, csv_wanted: bool
    ) -> None:
        assert wants_csv(format_, accept) is csv_wanted


def score_item(**group: str | None) -> ScoreItem:
    parts = {"n": 3, **{k: 0 for k in PART_KEYS}}
    parts |= {"nps_n": 3, "nps_promoters": 2, "nps_detractors": 1, "stars_n": 2}
    parts |= {"stars_sum": 9, "stars_sumsq": 41}
    return ScoreItem(
        bucket_start=datetime(2024, 3, 31, tzinfo=UTC), group=group, **score_fields(parts, 30)
    )


class TestScoreColumns:
    def test_header_is_bucket_dimensions_totals_then_every_block_field(self) -> None:
        columns = score_columns(("touchpoint", "channel"))
        assert columns[:5] == ["bucket_start", "touchpoint", "channel", "n", "low_confidence"]
        assert columns[5:8] == ["nps_value", "nps_n", "nps_moe"]
        assert "csat_ci_low" in columns and columns[-1] == "enps_low_confidence"
        assert len(columns) == len(set(columns))

    def test_cells_line_up_with_the_header_and_the_json_values(self) -> None:
        item = score_item(touchpoint="checkout", channel=None)
        dims = ("touchpoint", "channel")
        row = dict(zip(score_columns(dims), score_cells(item, dims), strict=True))
        assert row["bucket_start"] == "2024-03-31T00:00:00+00:00"
        assert (row["touchpoint"], row["channel"], row["n"]) == ("checkout", "", "3")
        assert float(row["nps_value"]) == item.nps.value
        assert float(row["stars_ci_low"]) == item.stars.ci_low
        assert (row["low_confidence"], row["csat_value"]) == ("true", "")


def feedback(text: str | None, **kw: Any) -> FeedbackItem:
    base: dict[str, Any] = {
        "feedback_id": UUID(int=7), "source_kind": "survey", "source": "typeform",
        "source_id": "r-1", "occurred_at": datetime(2024, 6, 1, 12, tzinfo=UTC),
        "touchpoint": "checkout", "journey_stage": "conversion", "channel": None,
        "segment": None, "language": "en", "text": text,
        "sentiment": {"label": "negative", "score": -0.5, "confidence": 0.9},
        "topics": [{"label": "delivery", "score": 0.8}, {"label": "pricing", "score": 0.4}],
        "nps": 3, "csat": None, "ces": None, "stars": None, "model_version": "m1",
    }  # fmt: skip
    return FeedbackItem.model_validate(base | kw)


class TestFeedbackCells:
    def test_enrichment_is_flattened_with_topics_joined_primary_first(self) -> None:
        row = dict(zip(FEEDBACK_COLUMNS, feedback_cells(feedback("late, again")), strict=True))
        assert (row["sentiment_label"], row["sentiment_score"]) == ("negative", "-0.5")
        assert (row["primary_topic"], row["topics"]) == ("delivery", "delivery;pricing")
        assert (row["nps"], row["csat"], row["channel"], row["text"]) == (
            "3",
            "",
            "",
            "late, again",
        )

    @pytest.mark.parametrize("text", ['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
    def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted(self, text: str) -> None:
        row = dict(zip(FEEDBACK_COLUMNS, feedback_cells(feedback(text)), strict=True))
        assert row["text"] == "'" + text

    def test_an_item_without_sentiment_or_topics_has_empty_cells(self) -> None:
        item = feedback(None, sentiment=None, topics=[])
        row = dict(zip(FEEDBACK_COLUMNS, feedback_cells(item), strict=True))
        assert [row[c] for c in ("sentiment_label", "primary_topic", "topics", "text")] == [""] * 4


async def chunks(*parts: Sequence[int]) -> AsyncIterator[Sequence[int]]:
    for part in parts:
        yield part


class TestCsvBody:
    async def test_header_then_one_write_per_chunk_parsing_back_to_the_rows(self) -> None:
        body = csv_body(["a", "b"], chunks([1, 2], [3]), lambda r: [str(r), f'x,"{r}"\n'], "t")
        writes = [w async for w in body]
        assert len(writes) == 3
        parsed = list(csv.reader(io.StringIO(b"".join(writes).decode(), newline="")))
        assert parsed == [["a", "b"], ["1", 'x,"1"\n'], ["2", 'x,"2"\n'], ["3", 'x,"3"\n']]

    async def test_a_failure_mid_stream_propagates_to_abort_the_response(self) -> None:
        async def failing() -> AsyncIterator[Sequence[int]]:
            yield [1]
            raise ConnectionResetError("database went away")

        body = csv_body(["a"], failing(), lambda r: [str(r)], "t")
        with pytest.raises(ConnectionResetError):
            _ = [w async for w in body]
