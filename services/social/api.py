"""HTTP routes of the social ingestion service."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.social.models import PostIn
from services.social.service import to_feedback
from shared.ingest import INGEST_RESPONSES, Accepted, IngestorDep, json_body

router = APIRouter(prefix="/v1", tags=["social"])


@router.post(
    "/posts",
    status_code=202,
    response_model=Accepted,
    responses=INGEST_RESPONSES,
    openapi_extra=json_body(PostIn),
)
async def submit_posts(request: Request, ingestor: IngestorDep) -> Accepted:
    """Accept one social post or an array of them; 202 once the broker has them all."""
    return await ingestor.ingest(request, PostIn, to_feedback)
