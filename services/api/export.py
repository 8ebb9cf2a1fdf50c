"""CSV export: which format a request wants, the flattened columns, and the streamed body.

Columns are derived from the JSON response models, so the two formats cannot drift: a score
block's fields become `<block>_<field>` columns (nps_value, nps_n, ...), feedback topics become
`;`-joined labels. Empty cells are nulls; booleans are `true`/`false`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog

from services.api.models import Format, ScoreQuery
from services.api.schemas import FeedbackItem, ScoreItem
from services.api.scores import Row
from services.api.service import feedback_item, score_item

log = structlog.get_logger(__name__)

CSV_MEDIA_TYPE = "text/csv"
SCORE_BLOCKS = ("nps", "csat", "ces", "stars", "sentiment", "enps")
FEEDBACK_COLUMNS = (
    "feedback_id", "occurred_at", "source_kind", "source", "source_id", "touchpoint",
    "journey_stage", "channel", "segment", "language", "sentiment_label", "sentiment_score",
    "sentiment_confidence", "primary_topic", "topics", "nps", "csat", "ces", "stars",
    "model_version", "text",
)  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): verbatims
# and dimension values are user-written, so such text cells get a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _block_fields(block: str) -> list[str]:
    model = ScoreItem.model_fields[block].annotation
    assert isinstance(model, type)
    return list(model.model_fields)  # type: ignore[attr-defined]


def score_columns(group_by: Sequence[str]) -> list[str]:
    """bucket_start, the group_by dimensions, n, low_confidence, then every block's fields."""
    columns = ["bucket_start", *group_by, "n", "low_confidence"]
    for block in SCORE_BLOCKS:
        columns += [f"{block}_{name}" for name in _block_fields(block)]
    return columns


def wants_csv(format_: Format | None, accept: str | None) -> bool:
    """`format` decides; without it, CSV when Accept lists text/csv above application/json.

    Wildcards do not count against text/csv: `text/csv, */*` asks for CSV, `*/*` for JSON.
    """
    if format_ is not None:
        return format_ == "csv"
    ranks: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranks[media.lower()] = max(quality, ranks.get(media.lower(), 0.0))
    csv_rank = ranks.get(CSV_MEDIA_TYPE, 0.0)
    return csv_rank > 0 and csv_rank > ranks.get("application/json", 0.0)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    return str(value)


def score_cells(item: ScoreItem, group_by: Sequence[str]) -> list[str]:
    values: list[Any] = [item.bucket_start, *(item.group[d] for d in group_by), item.n]
    values.append(item.low_confidence)
    for block in SCORE_BLOCKS:
        fields = getattr(item, block)
        values += [getattr(fields, name) for name in _block_fields(block)]
    return [_cell(v) for v in values]


def feedback_cells(item: FeedbackItem) -> list[str]:
    sentiment = item.sentiment
    values: dict[str, Any] = {
        **item.model_dump(include=set(FEEDBACK_COLUMNS)),
        "sentiment_label": sentiment.label.value if sentiment else None,
        "sentiment_score": sentiment.score if sentiment else None,
        "sentiment_confidence": sentiment.confidence if sentiment else None,
        "primary_topic": item.topics[0].label if item.topics else None,
        "topics": ";".join(t.label for t in item.topics),
    }
    return [_cell(values[c]) for c in FEEDBACK_COLUMNS]


def _lines(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


async def csv_body(
    header: Sequence[str],
    chunks: AsyncIterator[Sequence[Any]],
    cells: Callable[[Any], Sequence[str]],
    what: str,
) -> AsyncIterator[bytes]:
    """The header line, then one write per chunk of rows: memory stays flat however long."""
    yield _lines([header])
    rows, finished = 0, False
    try:
        async for chunk in chunks:
            rows += len(chunk)
            yield _lines(cells(row) for row in chunk)
        finished = True
    finally:
        # A failure after the status line can only abort the body: a truncated chunked transfer
        # is what every HTTP client reports. The client hanging up ends here too.
        if finished:
            log.info("api.exported", export=what, rows=rows)
        else:
            log.warning("api.export_aborted", export=what, rows=rows)


def scores_csv(
    query: ScoreQuery, chunks: AsyncIterator[Sequence[Row]], min_n: int
) -> AsyncIterator[bytes]:
    def cells(row: Row) -> Sequence[str]:
        return score_cells(score_item(row, query, min_n), query.group_by)

    return csv_body(score_columns(query.group_by), chunks, cells, "scores")


def feedback_csv(chunks: AsyncIterator[Sequence[Row]]) -> AsyncIterator[bytes]:
    def cells(row: Row) -> Sequence[str]:
        return feedback_cells(feedback_item(row))

    return csv_body(FEEDBACK_COLUMNS, chunks, cells, "feedback")
