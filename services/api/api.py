"""Routes of the BI API: thin, each reads through the repository and shapes with the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.api import service
from services.api.deps import CatalogDep, RepositoryDep, SettingsDep
from services.api.params import FeedbackQueryDep, ScoreQueryDep
from services.api.schemas import FeedbackPage, ScoresPage, TouchpointsPage
from shared.http import ERROR_RESPONSES, ErrorBody

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    503: {
        "model": ErrorBody,
        "description": "The database is unavailable (`database_unavailable`); retry later.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
    },
}

router = APIRouter(prefix="/v1", tags=["scores"], responses=RESPONSES)


@router.get("/scores", response_model=ScoresPage)
async def get_scores(
    query: ScoreQueryDep, repo: RepositoryDep, settings: SettingsDep
) -> ScoresPage:
    """NPS, eNPS, CSAT, CES, stars and sentiment per time bucket and group, from the rollups."""
    rows = await repo.scores(query)
    return service.scores_page(rows, query.group_by, settings.min_n)


@router.get("/touchpoints", response_model=TouchpointsPage)
async def get_touchpoints(
    catalog: CatalogDep, repo: RepositoryDep, settings: SettingsDep
) -> TouchpointsPage:
    """The touchpoint catalog with all-time scores, plus touchpoints seen only in the data."""
    rows = await repo.touchpoint_totals()
    return service.touchpoints_page(catalog, rows, settings.min_n)


@router.get("/feedback", response_model=FeedbackPage, tags=["feedback"])
async def get_feedback(query: FeedbackQueryDep, repo: RepositoryDep) -> FeedbackPage:
    """Verbatims (redacted text and enrichment), newest first, paged by an opaque cursor."""
    rows = await repo.feedback(query)
    return service.feedback_page(rows, query.limit)
