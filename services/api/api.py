"""Routes of the BI API: thin, each reads through the repository and shapes with the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from services.api import export, service
from services.api.auth import AUTH_RESPONSES, requires
from services.api.compare import compare_page
from services.api.deps import CatalogDep, RepositoryDep, SettingsDep
from services.api.driver_schemas import DriversPage
from services.api.drivers import drivers_page
from services.api.journey import JourneyDep, journey_out
from services.api.keys import FEEDBACK_READ, SCORES_READ
from services.api.query_params import (
    CompareQueryDep,
    DriversQueryDep,
    FeedbackQueryDep,
    ScoreQueryDep,
)
from services.api.schemas import (
    ComparePage,
    FeedbackPage,
    JourneyOut,
    ScoresPage,
    TouchpointsPage,
)
from shared.http import ERROR_RESPONSES, ErrorBody

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    **AUTH_RESPONSES,
    503: {
        "model": ErrorBody,
        "description": "The database is unavailable (`database_unavailable`); retry later.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
    },
}
_NEXT_HEADERS = {
    "Link": {
        "description": 'CSV only, when more rows follow: `<url>; rel="next"`.',
        "schema": {"type": "string"},
    },
    "X-Next-Cursor": {
        "description": "CSV only, when more rows follow: the `cursor` of the next page.",
        "schema": {"type": "string"},
    },
}


def _with_csv(columns: str) -> dict[int | str, dict[str, Any]]:
    """The 200 response documented in both media types, the CSV header spelled out."""
    return {
        200: {
            "description": "JSON page, or with `format=csv` / `Accept: text/csv` a streamed "
            "CSV (RFC 4180, UTF-8, header line first). CSV columns: " + columns,
            "content": {export.CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "headers": _NEXT_HEADERS,
        }
    }


router = APIRouter(prefix="/v1", tags=["scores"], responses=RESPONSES)


def _csv(
    request: Request, body: AsyncIterator[bytes], name: str, next_cursor: str | None
) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    if next_cursor is not None:
        # A relative reference (RFC 8288): right behind proxies that rewrite host or scheme.
        query = request.url.include_query_params(cursor=next_cursor).query
        link = f'<{request.url.path}?{query}>; rel="next"'
        headers |= {"Link": link, "X-Next-Cursor": next_cursor}
    media_type = f"{export.CSV_MEDIA_TYPE}; charset=utf-8"
    return StreamingResponse(body, media_type=media_type, headers=headers)


@router.get(
    "/scores",
    response_model=ScoresPage,
    dependencies=[requires(SCORES_READ)],
    responses=_with_csv(
        "`bucket_start` (empty for granularity=total), one column per `group_by` dimension "
        "named after it, then "
        + ", ".join(f"`{c}`" for c in export.score_columns(())[1:])
        + " (each JSON block's fields as `<block>_<field>`)."
    ),
)
async def get_scores(
    query: ScoreQueryDep, repo: RepositoryDep, settings: SettingsDep, request: Request
) -> ScoresPage | Response:
    """NPS, eNPS, CSAT, CES, stars and sentiment per time bucket and group, from the rollups."""
    if query.format == "json":
        return service.scores_response(await repo.scores(query), query, settings.min_n)
    bounded, next_cursor = service.bound_scores(query, await repo.scores_page_end(query))
    body = export.scores_csv(query, repo.stream_scores(bounded), settings.min_n)
    return _csv(request, body, "scores", next_cursor)


@router.get(
    "/scores/compare",
    response_model=ComparePage,
    dependencies=[requires(SCORES_READ)],
    responses={
        200: {
            "description": "Per group: the metric in both windows with its n, current − "
            "previous, the interval of that difference and the two-sided test at `level`."
        }
    },
)
async def compare_scores(
    query: CompareQueryDep, repo: RepositoryDep, settings: SettingsDep
) -> ComparePage:
    """One metric in two windows per group: both values, the difference, its interval and test."""
    return compare_page(await repo.compare(query), query, settings.min_n)


@router.get(
    "/drivers",
    response_model=DriversPage,
    dependencies=[requires(SCORES_READ)],
    responses={
        200: {
            "description": "Per topic: its share of feedback, the metric with and without it "
            "(value, n, interval), the difference with its interval and test, and the impact "
            "on the overall value; from the topic and non-topic score slices."
        }
    },
)
async def get_drivers(
    query: DriversQueryDep, repo: RepositoryDep, settings: SettingsDep
) -> DriversPage:
    """Which topics drive a metric: with vs without each topic, and how much each moves it."""
    per_topic, overall = await repo.drivers(query)
    return drivers_page(per_topic, overall, query, settings.min_n)


@router.get("/touchpoints", response_model=TouchpointsPage, dependencies=[requires(SCORES_READ)])
async def get_touchpoints(
    catalog: CatalogDep, repo: RepositoryDep, settings: SettingsDep
) -> TouchpointsPage:
    """The touchpoint catalog with all-time scores, plus touchpoints seen only in the data."""
    rows = await repo.touchpoint_totals()
    return service.touchpoints_page(catalog, rows, settings.min_n)


@router.get(
    "/journey",
    response_model=JourneyOut,
    tags=["journey"],
    dependencies=[requires(SCORES_READ)],
)
async def journey_catalog(journey: JourneyDep) -> JourneyOut:
    """The journey catalog: stages, touchpoints with stage and team, mapping rules, defaults."""
    return journey_out(journey)


@router.get(
    "/feedback",
    response_model=FeedbackPage,
    dependencies=[requires(FEEDBACK_READ)],
    tags=["feedback"],
    responses=_with_csv(", ".join(f"`{c}`" for c in export.FEEDBACK_COLUMNS) + "."),
)
async def get_feedback(
    query: FeedbackQueryDep, repo: RepositoryDep, request: Request
) -> FeedbackPage | Response:
    """Verbatims (redacted text and enrichment), newest or most negative first, cursor-paged."""
    if query.format == "json":
        return service.feedback_page(await repo.feedback(query), query.limit, query.order)
    bounded, next_cursor = service.bound_feedback(query, await repo.feedback_page_end(query))
    body = export.feedback_csv(repo.stream_feedback(bounded))
    return _csv(request, body, "feedback", next_cursor)
